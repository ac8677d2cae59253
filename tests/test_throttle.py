"""Throttles: per-key moving windows, in memory or shared through a real Redis."""

from __future__ import annotations

import uuid

import pytest

from lms.security import Throttle, TooManyAttempts, limit


def test_memory_throttle_blocks_after_the_limit_and_says_how_long():
    throttle = Throttle("memory://")
    three = limit("3 per minute")
    for _ in range(3):
        throttle.hit(three, "k")
    wait = throttle.retry_after(three, "k")
    assert wait is not None and 1 <= wait <= 60
    assert throttle.retry_after(three, "other") is None
    with pytest.raises(TooManyAttempts, match=r"Try again in \d+ seconds"):
        throttle.check([(three, ("k",))], "attempts")


def test_redis_throttle_counts_across_app_processes(redis_url):
    """Two Throttle objects stand for two app processes sharing one Redis."""
    first, second = Throttle(redis_url), Throttle(redis_url)
    key = f"test-{uuid.uuid4()}"
    two = limit("2 per minute")
    first.hit(two, key)
    second.hit(two, key)
    assert first.retry_after(two, key) is not None
    assert second.retry_after(two, key) is not None


def test_unreachable_redis_fails_loudly():
    throttle = Throttle("redis://127.0.0.1:1/0")
    with pytest.raises(Exception, match="(?i)connect"):
        throttle.hit(limit("1 per minute"), "k")
