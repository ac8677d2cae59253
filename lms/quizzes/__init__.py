"""Quizzes: stored quiz settings and versioned questions (synced from course files); attempts,
review and item analysis build on them."""
