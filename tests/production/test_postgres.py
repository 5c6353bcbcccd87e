"""The tier's own ground: the test process's ORM really runs on the PostgreSQL it started."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from django_voiceotp.models import Call, Campaign
from django_voiceotp.sealing import seal_otp

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_orm_runs_on_postgresql(postgres_server):
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["PORT"] == str(postgres_server.port)
    assert connection.settings_dict["NAME"] == "test_voiceotp"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 130000
        # The truncate between tests must never be the victim of a deadlock with a worker.
        cursor.execute("SHOW deadlock_timeout")
        assert cursor.fetchone()[0] == "10s"


def test_threads_race_on_separate_connections():
    """Ten transactions claim one row with a guarded update: exactly one wins."""
    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp("4829"))

    def claim(_):
        try:
            with transaction.atomic():
                backend_pid = connection.connection.info.backend_pid
                won = Call.objects.filter(pk=call.pk, send_attempts=0).update(send_attempts=1)
            return backend_pid, won
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(claim, range(10)))
    assert sum(won for _, won in results) == 1
    assert len({pid for pid, _ in results}) > 1


def test_the_cache_is_the_session_redis(redis_server):
    from django.core.cache import cache

    cache.set("voiceotp-tier", "here", 30)
    assert cache.get("voiceotp-tier") == "here"
    assert cache._cache._servers == [redis_server.url(1)]


def test_the_claim_and_read_call_read_rows_as_the_orm_does_on_postgresql():
    """The hand-written statements of claims (UPDATE … RETURNING, the join) on PostgreSQL:
    the same values and types as the ORM's select_related, and the claim's guards."""
    from datetime import timedelta

    from django.utils import timezone

    from django_voiceotp import claims
    from tests.test_pipeline import assert_read_as_the_orm_reads

    campaign = Campaign.objects.create(campaign_id="c78af", name="Sign-in")
    call = Call.objects.create(campaign=campaign, phone_number="0771122330", otp=seal_otp("4829"))
    now = timezone.now()

    claimed = claims.claim_and_read(call.pk, now)
    assert claimed is not None and claimed.send_attempts == 1
    assert_read_as_the_orm_reads(claimed)
    assert claims.claim_and_read(call.pk, now) is None  # held: its lease
    assert_read_as_the_orm_reads(claims.read_call(call.pk))
    old = Call.objects.create(
        campaign=campaign, phone_number="0771122330", created_at=now - timedelta(seconds=301)
    )
    assert claims.claim_and_read(old.pk, now) is None  # too old to send
    assert claims.read_call(10**9) is None
