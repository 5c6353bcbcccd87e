"""The callback's two writes in statements written by the app (``transitions._compare_and_set``,
``callbacks.events.insert_event``): the rows the ORM would write, and the ORM's own path where
it must be (a guard, an expression, a project listening for the model's signals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_voiceotp.callbacks.events import insert_event
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.transitions import transition

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)


def make_call(**fields) -> Call:
    campaign, _ = Campaign.objects.get_or_create(campaign_id="c78af")
    return Call.objects.create(campaign=campaign, phone_number="0771122330", **fields)


def updates(queries) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]


def test_a_move_stores_each_value_as_the_orm_does():
    call = make_call()
    poll_at = SENT_AT + timedelta(seconds=15)
    with CaptureQueriesContext(connection) as queries:
        moved = transition(
            call, Call.Status.SENT, provider_call_id="abc-1", sent_at=SENT_AT, next_poll_at=poll_at
        )
    assert moved is True
    [update] = updates(queries)
    assert "WHERE" in update and update.count("UPDATE") == 1
    stored = Call.objects.get(pk=call.pk)
    assert (stored.status, stored.provider_call_id) == (Call.Status.SENT, "abc-1")
    assert (stored.sent_at, stored.next_poll_at) == (SENT_AT, poll_at)
    assert stored.updated_at == call.updated_at  # what the call in hand says is what is stored
    assert call.status == Call.Status.SENT


def test_a_move_stores_an_empty_value_as_null():
    call = make_call(status=Call.Status.SENT, next_poll_at=timezone.now())
    assert transition(call, Call.Status.SUCCESS, next_poll_at=None, duration=11, otp="")
    stored = Call.objects.get(pk=call.pk)
    assert (stored.next_poll_at, stored.duration, stored.status) == (None, 11, "success")


def test_a_move_is_refused_when_another_process_finished_the_call_first():
    call = make_call(status=Call.Status.SENT)
    Call.objects.filter(pk=call.pk).update(status=Call.Status.FAILED, raw_status="Busy")
    assert transition(call, Call.Status.SUCCESS, raw_status="Success") is False
    stored = Call.objects.get(pk=call.pk)
    assert (stored.status, stored.raw_status) == (Call.Status.FAILED, "Busy")


def test_a_guard_still_holds_the_move():
    call = make_call(next_poll_at=timezone.now())  # a callback's early report was noted
    assert transition(call, Call.Status.SENT, guard={"next_poll_at": None}) is False
    assert Call.objects.get(pk=call.pk).status == Call.Status.PENDING


def test_an_expression_is_resolved_in_the_statement():
    call = make_call(status=Call.Status.SENT, poll_count=2)
    assert transition(call, Call.Status.FAILED, poll_count=F("poll_count") + 1)
    stored = Call.objects.get(pk=call.pk)
    assert (stored.status, stored.poll_count) == (Call.Status.FAILED, 3)


def event_values(event: CallbackEvent) -> dict:
    row = CallbackEvent.objects.filter(pk=event.pk).values().get()
    del row["id"]
    return row


def new_event(call: Call) -> CallbackEvent:
    return CallbackEvent(
        call=call,
        payload={"call_id": "abc-1", "status": "Success", "keypress": "***", "duration": 11},
        verdict=CallbackEvent.Verdict.APPLIED,
        reason=CallbackEvent.Reason.APPLIED,
        remote_addr="2001:db8::1",
        remote_network="2001:db8::/64",
        body_size=120,
    )


def test_an_event_is_stored_as_save_stores_it():
    call = make_call(status=Call.Status.SENT)
    inserted, saved = new_event(call), new_event(call)
    saved.received_at = inserted.received_at
    insert_event(inserted)
    saved.save()
    assert inserted.pk is not None and inserted.pk != saved.pk
    assert inserted._state.adding is False
    assert event_values(inserted) == event_values(saved)
    assert CallbackEvent.objects.get(pk=inserted.pk).payload["status"] == "Success"


def test_an_event_without_a_payload_stores_null():
    event = CallbackEvent(verdict=CallbackEvent.Verdict.MALFORMED, raw_body="not json")
    insert_event(event)
    assert CallbackEvent.objects.filter(pk=event.pk, payload__isnull=True).exists()


@pytest.mark.parametrize("signal", [pre_save, post_save])
def test_a_project_listening_for_the_models_signals_still_hears_of_the_event(signal):
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append((sender, instance.pk if signal is post_save else None))

    signal.connect(receiver, sender=CallbackEvent, weak=False, dispatch_uid="statements-test")
    try:
        event = new_event(make_call(status=Call.Status.SENT))
        insert_event(event)
    finally:
        signal.disconnect(sender=CallbackEvent, dispatch_uid="statements-test")
    assert heard == [(CallbackEvent, event.pk if signal is post_save else None)]
    assert CallbackEvent.objects.filter(pk=event.pk).exists()
