"""Reading lessons: the lesson page, previous/next, marking done, resuming."""
