"""Signing many credentials at once: the project's own eddsa-rdfc-2022 proof (lms.credentials.proof),
one document at a time, in a pool of processes (RDF canonicalization is pure Python and takes a few
milliseconds a document, so the cores are what counts). Spawned, not forked: the workers must not
inherit the parent's database connection."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import datetime

_worker: dict = {}


def _init(private_bytes: bytes, verification_method: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    _worker["key"] = Ed25519PrivateKey.from_private_bytes(private_bytes)
    _worker["method"] = verification_method


def _sign(job: tuple[dict, datetime]) -> dict:
    from lms.credentials.proof import sign  # noqa: PLC0415

    document, created = job
    return sign(document, _worker["key"], _worker["method"], created)


def sign_all(jobs: list[tuple[dict, datetime]], private_key, verification_method: str,
             processes: int | None = None) -> Iterator[dict]:
    """The signed documents of ``jobs`` ((unsigned document, created) pairs), in order."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    processes = processes or min(os.cpu_count() or 1, 4)
    if processes <= 1 or len(jobs) < 50:
        _init(raw, verification_method)
        yield from (_sign(job) for job in jobs)
        return
    with multiprocessing.get_context("spawn").Pool(processes, _init, (raw, verification_method)) as pool:
        yield from pool.imap(_sign, jobs, chunksize=25)
