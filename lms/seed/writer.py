"""Bulk rows into the caller's transaction: COPY on PostgreSQL (psycopg 3's ``cursor.copy()`` on the
session's own connection), executemany in batches on SQLite. Rows are tuples in ``columns`` order with
Python values (JSON columns as Python objects); ids are given explicitly, and :meth:`fix_sequences`
moves PostgreSQL's sequences past them so the app inserts normally afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.orm import Session

from lms.db import begin_for_driver

SQLITE_BATCH = 20_000


class BulkWriter:
    def __init__(self, db: Session):
        self.db = db
        self.connection = db.connection()
        self.postgresql = self.connection.dialect.name == "postgresql"
        self.timings: dict[str, tuple[int, float]] = {}  # table -> (rows, seconds)

    def next_id(self, table: Table) -> int:
        return (self.db.scalar(select(func.max(table.c.id))) or 0) + 1

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        started = time.perf_counter()
        count = self._copy(table, columns, rows) if self.postgresql else self._executemany(table, columns, rows)
        rows_before, seconds_before = self.timings.get(table.name, (0, 0.0))
        self.timings[table.name] = (rows_before + count, seconds_before + time.perf_counter() - started)
        return count

    def _copy(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        begin_for_driver(self.connection)  # COPY goes past SQLAlchemy: into the caller's transaction
        raw = self.connection.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                if json_at:
                    values = list(row)
                    for i in json_at:
                        if values[i] is not None:
                            values[i] = json.dumps(values[i], separators=(",", ":"))
                    copy.write_row(values)
                else:
                    copy.write_row(row)
                count += 1
        return count

    def _executemany(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        count, batch = 0, []
        statement = table.insert()
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= SQLITE_BATCH:
                self.connection.execute(statement, batch)
                count += len(batch)
                batch = []
        if batch:
            self.connection.execute(statement, batch)
            count += len(batch)
        return count

    def fix_sequences(self, tables: Iterable[Table]) -> None:
        """PostgreSQL: each table's id sequence continues after its largest id (COPY does not move it)."""
        if not self.postgresql:
            return
        for table in tables:
            if "id" not in table.c:
                continue
            self.connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 1), "
                f"(SELECT MAX(id) FROM \"{table.name}\") IS NOT NULL)"))
