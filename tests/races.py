"""Real concurrent transactions (PostgreSQL): each action runs in its own thread and session, released
together by a barrier. Returns ("ok", value) or ("error", exception) for each, in finishing order."""

from __future__ import annotations

import threading


def race(app, action, count: int = 2):
    barrier = threading.Barrier(count)
    results: list = []

    def run(n):
        session = app.extensions["lms.sessionmaker"]()
        try:
            barrier.wait(timeout=10)
            results.append(("ok", action(session, n)))
            session.commit()
        except Exception as exc:  # noqa: BLE001 - the loser's error is what the test checks
            session.rollback()
            results.append(("error", exc))
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
