"""Backups of a whole instance: the database snapshot, the uploads it references, the signing keys.

``flask backup DIR`` and ``flask restore DIR`` (lms.backup.cli); the work is in lms.backup.services
(no Flask), the database side in lms.backup.database. Why it is built this way:
docs/decisions/0021-backups.md.
"""
