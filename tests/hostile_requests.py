"""Generated requests to the callback door (hypothesis strategies) and the property each must keep.

Shared by the property tests on SQLite (``tests/test_callbacks_property.py``) and PostgreSQL
(``tests/production/test_hostile_callbacks.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import Sum
from hypothesis import strategies as st

from django_voiceotp.models import Call, CallbackEvent

from .hostile_cases import (
    PROVIDER_CALL_ID,
    assert_call_storable_everywhere,
    assert_storable_everywhere,
    make_call,
    post,
)

# Text as hostile as JSON can carry it: NUL, controls, lone surrogates, astral characters.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\x00", "\x1b", "\n", "\ud800", "\udfff", "\u2028", "\U0001f600"]),
    ),
    max_size=40,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=12,
)
start_times = st.one_of(
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["0001-01-01 00:00:00", "9999-12-31T23:59:59-12:00", "2020-11-10 23:23:11"]),
    hostile_text,
    json_values,
)
reports = st.fixed_dictionaries(
    {
        "call_id": st.one_of(
            st.just(PROVIDER_CALL_ID), hostile_text, st.text(min_size=250, max_size=300)
        ),
        "status": st.one_of(
            st.sampled_from(["Success", "Fail", "BUSY", "NOANWSER", "", "ringing", None]),
            hostile_text,
            json_values,
        ),
    },
    optional={
        "duration": st.one_of(
            st.integers(min_value=-(2**40), max_value=2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            hostile_text,
            st.booleans(),
        ),
        "start_time": start_times,
        "keypress": st.one_of(st.just("654321"), hostile_text),
        "code_otp": st.just("654321"),
        "extra": json_values,
    },
)
# A body: a report, any JSON, JSON with what the standard refuses, or any bytes at all.
bodies = st.one_of(
    reports.map(lambda report: json.dumps(report).encode("utf-8", "surrogatepass")),
    json_values.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass")),
    st.sampled_from([b'{"status": NaN}', b'{"duration": Infinity}', b"[" * 100 + b"]" * 100]),
    st.binary(max_size=300),
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
    header_text,
)
accepts = st.one_of(
    st.sampled_from(["application/json", "text/html", "application/xml", "*/*", ""]),
    header_text,
)
remote_addrs = st.sampled_from(["203.0.113.9", "2001:db8::1", "", "unix:/run/x.sock", "::ffff:1"])


@dataclass(frozen=True)
class HostileRequest:
    body: bytes
    content_type: str
    accept: str
    remote_addr: str
    valid_token: bool
    chunked: bool
    early: bool  # the call has no provider id yet: its send task has not returned


hostile_requests = st.builds(
    HostileRequest,
    body=bodies,
    content_type=content_types,
    accept=accepts,
    remote_addr=remote_addrs,
    valid_token=st.booleans(),
    chunked=st.sampled_from([False, False, False, True]),
    early=st.booleans(),
)


def check_hostile_request(request: HostileRequest) -> None:
    """One generated request: answered below 500 with JSON, recorded, nothing stored that
    PostgreSQL refuses, and the call still loads."""
    CallbackEvent.objects.all().delete()
    Call.objects.all().delete()
    if request.early:
        call = make_call(status=Call.Status.PENDING, provider_call_id=None)
    else:
        call = make_call()
    headers = {"HTTP_ACCEPT": request.accept, "REMOTE_ADDR": request.remote_addr}
    if request.chunked:
        headers["HTTP_TRANSFER_ENCODING"] = "chunked"
    response = post(
        call if request.valid_token else None,
        request.body,
        content_type=request.content_type,
        **headers,
    )
    assert response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"
    events = CallbackEvent.objects.all()
    if request.valid_token:
        assert [event.call_id for event in events] == [call.pk]
    else:
        assert events.aggregate(requests=Sum("count"))["requests"] == 1
        assert all(event.call_id is None and len(event.raw_body) <= 256 for event in events)
    for event in events:
        assert_storable_everywhere(event)
        assert "654321" not in json.dumps(event.payload) + event.raw_body
    assert_call_storable_everywhere(Call.objects.get(pk=call.pk))
