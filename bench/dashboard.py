"""The learner dashboard in-process, rendered and served from its cache (decision 0026).

`make bench` measures the dashboard with wrk as a learner reloading it, which the dashboard cache
answers after the first request. What a learner's first visit after a change costs (a lesson read,
a quiz submitted, a grade) is the rendered one: this times both in this process with Flask's test
client, alternating, and the lesson page beside them for scale.
"""

from __future__ import annotations

import statistics
import time

from bench.client import USER_AGENT, log_in_test_client

REQUESTS = 200  # per kind, in batches of 20 alternating between the kinds


def time_dashboard(app, data) -> dict:
    test_client = app.test_client()
    test_client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    log_in_test_client(test_client, data.email, data.password)
    cache = app.extensions["lms.dashboard_cache"]

    def rendered() -> None:
        cache.clear()
        test_client.get(data.dashboard_path)

    def cached() -> None:
        test_client.get(data.dashboard_path)

    def lesson() -> None:
        test_client.get(data.lesson_path)

    kinds = {"rendered": rendered, "cached": cached, "lesson": lesson}
    for get in kinds.values():  # warm every per-process cache and the cache entry itself
        get()
    cached()
    first, again = test_client.get(data.dashboard_path), (cache.clear(), test_client.get(data.dashboard_path))[1]
    if first.get_data() != again.get_data() or data.name not in first.get_data(as_text=True):
        raise RuntimeError("bench.dashboard: the dashboard served from its cache differs from the rendered one")
    batches: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(REQUESTS // 20):
        for kind, get in kinds.items():
            started = time.process_time()
            for _ in range(20):
                get()
            batches[kind].append((time.process_time() - started) / 20 * 1e3)
    return {kind: {"median_ms": round(statistics.median(values), 3), "min_ms": round(min(values), 3)}
            for kind, values in batches.items()} | {"requests_per_kind": REQUESTS}
