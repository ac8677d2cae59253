"""The catalog: courses synced from courses/, search, course pages, course media."""
