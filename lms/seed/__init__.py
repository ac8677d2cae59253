"""Generated data for load tests and demos at scale: `flask seed --size S|M|L` (decision 0023).

``sizes`` holds the one table of sizes; ``courses`` writes generated course folders, which the
product's own sync imports; ``services`` plans learners and their history with one seeded
``random.Random`` and writes the rows in bulk (COPY on PostgreSQL, executemany on SQLite) in one
transaction; ``signing`` signs the credentials in a pool of processes with the project's own
credential code. No HTTP objects anywhere; ``cli`` is the click command.
"""
