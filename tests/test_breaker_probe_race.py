"""One probe per half-open period, even when a send decides while the probe fails."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_voiceotp import breaker
from django_voiceotp.limits.counters import limits_cache


@pytest.fixture
def settings_breaker(voiceotp):
    voiceotp(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN=60)


def test_a_send_that_read_the_cooldown_over_takes_no_probe_once_the_probe_failed(
    settings_breaker, clock, monkeypatch
):
    for _ in range(3):
        breaker.failed("pitel")
    clock.shift(timedelta(seconds=61))
    assert breaker.allows("pitel")  # send P: the probe
    cache = limits_cache()
    add = cache.add

    def add_once_the_probe_failed(key, *args, **kwargs):
        # Send Q has read the cool-down over; before it takes the probe, P's probe fails.
        if key.endswith(":probe"):
            monkeypatch.setattr(cache, "add", add)
            breaker.failed("pitel")
        return add(key, *args, **kwargs)

    monkeypatch.setattr(cache, "add", add_once_the_probe_failed)
    # The breaker is open again for a new cool-down: Q must not call the provider.
    assert not breaker.allows("pitel")
    assert breaker.state("pitel").state == breaker.OPEN
