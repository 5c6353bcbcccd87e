"""The admin: lists, change pages, actions, permissions, query counts, and no secret anywhere."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from django_voiceotp import limits, send_otp, sending
from django_voiceotp.callback_urls import callback_token_for
from django_voiceotp.callbacks import receive_callback
from django_voiceotp.models import Call, CallbackEvent, Campaign
from django_voiceotp.sealing import open_otp, seal_otp

pytestmark = pytest.mark.django_db

OTP = "739164"
KEYPRESS = "582047"
PROVIDER_CALL_ID = "88aa4744-d567-49fa-88b1-26e09da884a5"

CALLS = reverse("admin:django_voiceotp_call_changelist")
CAMPAIGNS = reverse("admin:django_voiceotp_campaign_changelist")
EVENTS = reverse("admin:django_voiceotp_callbackevent_changelist")


def call_url(call):
    return reverse("admin:django_voiceotp_call_change", args=[call.pk])


def summary_url(campaign):
    return reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])


@pytest.fixture
def campaign():
    return Campaign.objects.create(campaign_id="c78af", name="Sign-up")


def make_call(campaign, **fields):
    values = {"phone_number": "0771122330", "status": Call.Status.SENT, **fields}
    return Call.objects.create(campaign=campaign, **values)


def post_callback(call, **payload):
    """A callback through the real receiving path, so the stored event is what production stores."""
    token = callback_token_for(call)
    # The provider's local time of a call placed now: a start time far from the call is unknown.
    started = timezone.localtime(call.created_at, ZoneInfo("Asia/Ho_Chi_Minh"))
    body = {
        "call_id": call.provider_call_id,
        "campaign_id": call.campaign.campaign_id,
        "duration": 11,
        "keypress": KEYPRESS,
        "phone_number": call.phone_number,
        "start_time": started.strftime("%Y-%m-%d %H:%M:%S"),
        "status": "Success",
        "user_id": "f461",
        **payload,
    }
    return receive_callback(
        token, json.dumps(body).encode(), content_type="application/json", remote_addr="10.0.0.1"
    )


def staff_user(*codenames):
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def action(client, name, *calls):
    return client.post(
        CALLS,
        {"action": name, "_selected_action": [call.pk for call in calls]},
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# -- calls list ----------------------------------------------------------------------------------


def test_call_list_masks_numbers_and_shows_the_columns(admin_client, campaign):
    make_call(
        campaign,
        status=Call.Status.FAILED,
        failure_reason="BUSY",
        duration=0,
        finished_at=timezone.now(),
    )
    html = admin_client.get(CALLS).content.decode()
    assert "077****330" in html
    assert "0771122330" not in html
    assert 'class="voiceotp-badge voiceotp-failed"' in html
    assert "BUSY" in html and "Sign-up" in html
    assert "django_voiceotp/admin.css" in html


@pytest.mark.parametrize("term", ["0771122330", "+84 77 112 2330", "1122", PROVIDER_CALL_ID])
def test_call_search_by_phone_in_any_spelling_or_provider_id(admin_client, campaign, term):
    wanted = make_call(campaign, provider_call_id=PROVIDER_CALL_ID)
    make_call(campaign, phone_number="0912345678")
    response = admin_client.get(CALLS, {"q": term})
    assert [call.pk for call in response.context["cl"].result_list] == [wanted.pk]


def test_call_filters_by_status_and_campaign(admin_client, campaign):
    other = Campaign.objects.create(campaign_id="other")
    failed = make_call(campaign, status=Call.Status.FAILED)
    make_call(campaign, status=Call.Status.SUCCESS)
    make_call(other, status=Call.Status.FAILED)
    response = admin_client.get(
        CALLS, {"status__exact": "failed", "campaign__id__exact": campaign.pk}
    )
    assert [call.pk for call in response.context["cl"].result_list] == [failed.pk]


def test_call_list_costs_the_same_queries_for_one_call_or_twenty(admin_client, campaign):
    other = Campaign.objects.create(campaign_id="other")
    make_call(campaign)
    admin_client.get(CALLS)  # warm up: session, content types
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(CALLS).status_code == 200
    for index in range(19):
        make_call(other if index % 2 else campaign, phone_number=f"07711223{index:02d}")
    with CaptureQueriesContext(connection) as twenty:
        response = admin_client.get(CALLS)
    assert len(response.context["cl"].result_list) == 20
    assert len(twenty) == len(one)


# -- call change page ----------------------------------------------------------------------------


def test_call_page_is_read_only_with_events_and_timeline(admin_client, campaign):
    call = make_call(campaign, provider_call_id=PROVIDER_CALL_ID, sent_at=timezone.now())
    post_callback(call)
    html = admin_client.get(call_url(call)).content.decode()
    # Provider data is shown, never as an editable input, and there is nothing to save.
    assert PROVIDER_CALL_ID in html
    assert 'name="phone_number"' not in html and 'name="provider_call_id"' not in html
    assert 'name="_save"' not in html
    # The full number is on the call's own page, for the operator who opened it.
    assert "0771122330" in html
    assert 'class="voiceotp-timeline"' in html
    timeline = re.search(r'<ol class="voiceotp-timeline">(.*?)</ol>', html, re.S).group(1)
    assert timeline.count("<li>") == 5  # created, sent, started, callback, finished
    assert "Callback received: applied" in timeline
    assert "Succeeded" in timeline
    # The inline event, its payload pretty-printed.
    assert (
        '<pre class="voiceotp-payload">' in html
        and "&quot;status&quot;: &quot;Success&quot;" in html
    )


def test_calls_cannot_be_added_or_edited(admin_client, campaign):
    call = make_call(campaign)
    assert admin_client.get(reverse("admin:django_voiceotp_call_add")).status_code == 403
    admin_client.post(call_url(call), {"phone_number": "0912345678", "status": "success"})
    call.refresh_from_db()
    assert (call.phone_number, call.status) == ("0771122330", Call.Status.SENT)


# -- nothing secret ------------------------------------------------------------------------------


def test_no_admin_page_shows_an_otp_or_a_keypress(admin_client, campaign):
    pending = make_call(campaign, status=Call.Status.PENDING, otp=seal_otp(OTP))
    sent = make_call(campaign, provider_call_id=PROVIDER_CALL_ID, sent_at=timezone.now())
    post_callback(sent)
    post_callback(sent, status="")  # a duplicate, and one in progress
    # A body that is not JSON is kept raw: its keypress must be hidden too.
    token = callback_token_for(sent)
    receive_callback(
        token,
        f"call_id={PROVIDER_CALL_ID}&keypress={KEYPRESS}&status=Success".encode(),
        content_type="application/x-www-form-urlencoded",
        remote_addr=None,
    )
    assert (
        open_otp(Call.objects.get(pk=pending.pk).otp) == OTP
    )  # still stored: the test means something
    pages = [
        CALLS,
        call_url(pending),
        call_url(sent),
        reverse("admin:django_voiceotp_call_delete", args=[pending.pk]),
        reverse("admin:django_voiceotp_call_history", args=[pending.pk]),
        EVENTS,
        CAMPAIGNS,
        reverse("admin:django_voiceotp_campaign_change", args=[campaign.pk]),
        summary_url(campaign),
        reverse("admin:index"),
    ]
    pages += [
        reverse("admin:django_voiceotp_callbackevent_change", args=[event.pk])
        for event in CallbackEvent.objects.all()
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert OTP not in html, page
        assert KEYPRESS not in html, page
    raw = admin_client.get(
        reverse(
            "admin:django_voiceotp_callbackevent_change",
            args=[CallbackEvent.objects.exclude(raw_body="").get().pk],
        )
    )
    assert "keypress=[redacted]" in raw.content.decode()


# -- actions -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_poll_now_gets_the_result_of_sent_calls(admin_client, sandbox):
    call = send_otp("0771122330", OTP)
    done = send_otp("0771122331", "1234")
    Call.objects.filter(pk=done.pk).update(status=Call.Status.SUCCESS)
    assert Call.objects.get(pk=call.pk).status == Call.Status.SENT
    time.sleep(0.3)  # the sandbox's call lasts 0.2 s
    response = action(admin_client, "poll_now", call, done)
    assert Call.objects.get(pk=call.pk).status == Call.Status.SUCCESS
    assert messages_of(response) == [
        "Polled 1 call; 1 now has a result.",
        "1 call was not polled: only a call awaiting its result can be.",
    ]
    assert len(sandbox.requests_for("report")) == 1


@pytest.mark.django_db(transaction=True)
def test_call_again_resends_a_pending_call_with_its_stored_passcode(
    admin_client, sandbox, campaign
):
    # Sent by the service, not send_otp: in eager mode a retry would run at once.
    stuck = make_call(campaign, status=Call.Status.PENDING, otp=seal_otp(OTP))
    sandbox.inject("http_error", endpoint="voiceotp", status=503)
    sending.send_call(stuck.pk)
    assert Call.objects.get(pk=stuck.pk).status == Call.Status.PENDING  # waiting for a retry
    response = action(admin_client, "call_again", stuck)
    stuck.refresh_from_db()
    new_call = Call.objects.exclude(pk=stuck.pk).get()
    assert messages_of(response) == [f"Call {stuck.pk} is placed again as call {new_call.pk}."]
    assert (stuck.status, stuck.failure_reason) == ("failed", f"replaced by call {new_call.pk}")
    assert stuck.otp == ""
    assert new_call.status == Call.Status.SENT
    assert sandbox.requests_for("voiceotp")[-1].body["contact"]["otp"] == OTP


def test_call_again_says_why_not(admin_client, campaign):
    sent = make_call(campaign)
    old = make_call(
        campaign,
        status=Call.Status.PENDING,
        otp=seal_otp(OTP),
        created_at=timezone.now() - timedelta(minutes=10),
    )
    response = action(admin_client, "call_again", sent, old)
    assert set(messages_of(response)) == {
        f"Call {old.pk} cannot be placed again: its passcode is too old to be of use.",
        f"Call {sent.pk} cannot be placed again: its passcode is no longer stored (it is erased "
        "when the delivery ends); the person must ask for a new code.",
    }
    assert Call.objects.count() == 2


# -- permissions ---------------------------------------------------------------------------------


def test_view_permission_shows_calls_without_actions(client, campaign):
    call = make_call(campaign)
    client.force_login(staff_user("view_call", "view_callbackevent"))
    listing = client.get(CALLS)
    assert listing.status_code == 200
    assert "poll_now" not in listing.content.decode()
    assert client.get(call_url(call)).status_code == 200
    response = action(client, "poll_now", call)
    assert "Polled" not in " ".join(messages_of(response))
    call.refresh_from_db()
    assert call.poll_count == 0


def test_change_permission_allows_the_actions(client, campaign):
    call = make_call(campaign, status=Call.Status.SUCCESS)
    client.force_login(staff_user("view_call", "change_call"))
    assert "poll_now" in client.get(CALLS).content.decode()
    response = action(client, "poll_now", call)
    assert messages_of(response) == [
        "1 call was not polled: only a call awaiting its result can be."
    ]


def test_no_permission_no_access(client, campaign):
    call = make_call(campaign)
    client.force_login(staff_user())
    for url in (CALLS, call_url(call), EVENTS, CAMPAIGNS, summary_url(campaign)):
        assert client.get(url).status_code == 403, url


# -- campaigns -----------------------------------------------------------------------------------


def test_campaign_list_counts_the_last_seven_days(admin_client, campaign):
    now = timezone.now()
    for status in ("success", "success", "success", "failed", "sent"):
        make_call(campaign, status=status)
    make_call(campaign, status="failed", created_at=now - timedelta(days=8))
    Campaign.objects.create(campaign_id="quiet")
    response = admin_client.get(CAMPAIGNS)
    rows = {row.campaign_id: row for row in response.context["cl"].result_list}
    assert rows["c78af"].recent_total == 5
    html = response.content.decode()
    assert "75%" in html  # 3 of 4 finished; the call in progress is not a failure
    assert reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk]) in html


def test_campaigns_can_be_created_and_edited(admin_client):
    response = admin_client.post(
        reverse("admin:django_voiceotp_campaign_add"),
        {"campaign_id": "abc12", "name": "Login", "is_active": "on"},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(campaign_id="abc12")
    admin_client.post(
        reverse("admin:django_voiceotp_campaign_change", args=[campaign.pk]),
        {"campaign_id": "abc12", "name": "Login"},
    )
    campaign.refresh_from_db()
    assert campaign.is_active is False


def test_campaign_summary_draws_calls_per_day(admin_client, campaign):
    now = timezone.now()
    for days_ago, status in ((0, "success"), (0, "failed"), (2, "success"), (20, "success")):
        make_call(campaign, status=status, created_at=now - timedelta(days=days_ago))
    response = admin_client.get(summary_url(campaign))
    html = response.content.decode()
    assert response.context["period"] == 14
    assert response.context["total"] == 3  # the call of 20 days ago is outside the period
    assert len(response.context["days"]) == 14
    assert "<svg" in html and "<polyline" in html
    assert html.count('fill="#2e7d32"/>') == 14  # one success segment per day, even empty
    assert response.context["rate"] == "67%"
    assert admin_client.get(summary_url(campaign), {"days": "30"}).context["total"] == 4
    # An unknown period falls back to the default instead of failing.
    assert admin_client.get(summary_url(campaign), {"days": "x"}).context["period"] == 14
    summary_of_nothing = CAMPAIGNS + "nothing/summary/"
    assert admin_client.get(summary_of_nothing).status_code == 404


# -- callback events -----------------------------------------------------------------------------


def test_callback_events_are_read_only_and_filter_by_verdict(admin_client, campaign):
    call = make_call(campaign, provider_call_id=PROVIDER_CALL_ID)
    post_callback(call)
    post_callback(call)
    applied = CallbackEvent.objects.get(verdict="applied")
    response = admin_client.get(EVENTS, {"verdict__exact": "duplicate"})
    assert [event.verdict for event in response.context["cl"].result_list] == ["duplicate"]
    assert admin_client.get(reverse("admin:django_voiceotp_callbackevent_add")).status_code == 403
    page = admin_client.get(
        reverse("admin:django_voiceotp_callbackevent_change", args=[applied.pk])
    ).content.decode()
    assert 'name="verdict"' not in page and 'name="_save"' not in page
    assert "&quot;keypress&quot;: &quot;[redacted]&quot;" in page
    assert call_url(call) in page


# -- layout and wording --------------------------------------------------------------------------

PROVIDER_REFUSAL = (
    "The provider refused the request (campaigns/nope/voiceotp).; HTTP 404; "
    "provider says: Campaign not found"
)


def test_call_list_cuts_a_long_failure_reason_and_mends_its_punctuation(admin_client, campaign):
    make_call(
        campaign,
        status=Call.Status.FAILED,
        failure_reason=PROVIDER_REFUSAL,
        finished_at=timezone.now(),
    )
    html = admin_client.get(CALLS).content.decode()
    mended = (
        "The provider refused the request (campaigns/nope/voiceotp); HTTP 404; "
        "provider says: Campaign not found"
    )
    assert f'<span class="voiceotp-truncated" title="{mended}">{mended}</span>' in html
    assert ".; HTTP" not in html


def test_call_page_mends_the_punctuation_of_a_provider_error(admin_client, campaign):
    call = make_call(
        campaign,
        status=Call.Status.FAILED,
        failure_reason=PROVIDER_REFUSAL,
        finished_at=timezone.now(),
    )
    html = admin_client.get(call_url(call)).content.decode()
    assert "(campaigns/nope/voiceotp); HTTP 404" in html
    assert ".; HTTP" not in html


def test_call_list_writes_short_local_dates_and_the_admins_empty_marker(admin_client, campaign):
    created = datetime(2026, 12, 2, 1, 17, 22, tzinfo=UTC)
    make_call(campaign, created_at=created)  # not finished, no failure reason
    html = admin_client.get(CALLS).content.decode()
    assert f'<time datetime="{created.isoformat()}">12/02/2026 1:17 a.m.</time>' in html
    row = re.search(r"<tr>.*?</tr>", html.split("<tbody>")[1], re.S).group(0)
    assert row.count('<td class="field-finished_display">-</td>') == 1
    assert '<td class="field-failure_reason_display">-</td>' in row
    assert "—" not in html


def test_call_page_is_titled_view_call_and_its_timeline_writes_dates_as_django_does(
    admin_client, campaign
):
    created = datetime(2026, 12, 2, 1, 17, 22, tzinfo=UTC)
    call = make_call(
        campaign,
        created_at=created,
        sent_at=created + timedelta(seconds=1),
        status=Call.Status.FAILED,
        finished_at=created + timedelta(seconds=40),
    )
    html = admin_client.get(call_url(call)).content.decode()
    assert "<h1>View call</h1>" in html and "Change call" not in html
    timeline = re.search(r'<ol class="voiceotp-timeline">(.*?)</ol>', html, re.S).group(1)
    assert "Dec. 2, 2026, 1:17 a.m." in timeline
    assert "2026-12-02 01:17" not in timeline
    assert re.findall(r'voiceotp-elapsed">([^<]*)<', timeline) == ["+0 s", "+1 s", "+40 s"]
    assert "Failed: -" in timeline  # no reason given: the admin's empty marker
    assert "—" not in html  # no event has a payload to show either


def test_campaign_pages_use_the_admins_empty_marker(admin_client, campaign):
    for page in (admin_client.get(CAMPAIGNS), admin_client.get(summary_url(campaign))):
        html = page.content.decode()
        assert "—" not in html
        assert ">-<" in html


def test_the_chart_and_the_table_write_a_day_the_same_way(admin_client, campaign):
    make_call(campaign, status=Call.Status.SUCCESS)
    for language in ("en", "vi"):
        with translation.override(language):
            response = admin_client.get(summary_url(campaign))
            today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
        html = response.content.decode()
        svg = re.search(r'<svg class="voiceotp-chart".*?</svg>', html, re.S).group(0)
        table = html[html.index(svg) + len(svg) :]
        assert f">{today}</text>" in svg, language
        assert f"<td>{today}</td>" in table, language
    assert today == timezone.localdate().strftime("%d-%m-%Y")  # Vietnamese: day first


def test_a_provider_refusal_reads_as_a_sentence_in_the_message(admin_client, campaign, monkeypatch):
    from django_voiceotp import sending
    from django_voiceotp.exceptions import ProviderRejected

    def refuse(call):
        raise ProviderRejected(
            "The provider refused the request (campaigns/c78af/voiceotp).", http_status=404
        )

    monkeypatch.setattr(sending, "call_again", refuse)
    call = make_call(campaign, status=Call.Status.PENDING)
    response = action(admin_client, "call_again", call)
    assert messages_of(response) == [
        f"Call {call.pk} cannot be placed again: The provider refused the request "
        "(campaigns/c78af/voiceotp); HTTP 404"
    ]


def test_an_event_without_a_body_shows_the_admins_empty_marker(admin_client):
    event = CallbackEvent.objects.create(verdict=CallbackEvent.Verdict.TOO_LARGE)
    page = admin_client.get(reverse("admin:django_voiceotp_callbackevent_change", args=[event.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "—" not in html
    assert re.search(r'<div class="readonly">-</div>', html)


# -- reaching the person ---------------------------------------------------------------------------


def a_delivery(campaign, *, days_ago=0, outcomes=("success",), fallback=""):
    """A first call and its redials, ending in ``outcomes`` in order; the last may hand over."""
    created = timezone.now() - timedelta(days=days_ago)
    calls, previous = [], None
    for attempt, status in enumerate(outcomes, start=1):
        previous = make_call(
            campaign,
            status=status,
            created_at=created,
            attempt=attempt,
            redial_of=previous,
            failure_reason="" if status == "success" else "NOANWSER",
        )
        calls.append(previous)
    if fallback:
        Call.objects.filter(pk=previous.pk).update(
            fallback_status=fallback, fallback_sent_at=timezone.now()
        )
    return calls


def test_call_page_shows_the_chain_and_the_fallback(admin_client, campaign):
    first, redial = a_delivery(campaign, outcomes=("failed", "failed"), fallback="sent")
    first_page = admin_client.get(call_url(first)).content.decode()
    redial_page = admin_client.get(call_url(redial)).content.decode()
    assert f'href="{call_url(redial)}"' in first_page  # the redial that followed
    assert f'href="{call_url(first)}"' in redial_page  # the call it redials
    assert "Passcode handed to the fallback sender" in redial_page
    assert ">sent<" in redial_page.replace("\n", "").replace(" ", "")
    assert "Passcode handed to the fallback sender" not in first_page


def test_the_list_filters_redials_and_fallbacks(admin_client, campaign):
    first, redial = a_delivery(campaign, outcomes=("failed", "success"))
    (handed,) = a_delivery(campaign, outcomes=("failed",), fallback="sent")

    def listed(**query):
        response = admin_client.get(CALLS, query)
        return sorted(call.pk for call in response.context["cl"].result_list)

    assert listed(redial="yes") == [redial.pk]
    assert listed(redial="no") == sorted([first.pk, handed.pk])
    assert listed(fallback_status__exact="sent") == [handed.pk]


def test_campaign_summary_shows_what_redials_and_the_fallback_bring(admin_client, campaign):
    from django_voiceotp.models import Verification

    a_delivery(campaign, outcomes=("success",))
    (answered,) = a_delivery(campaign, outcomes=("success",))
    a_delivery(campaign, outcomes=("failed", "success"))
    a_delivery(campaign, outcomes=("failed", "failed"), fallback="sent")
    a_delivery(campaign, days_ago=2, outcomes=("failed",))
    Verification.objects.create(
        phone_number="0771122330",
        code_hash="x" * 64,
        call=answered,
        state=Verification.State.VERIFIED,
        expires_at=timezone.now(),
    )
    response = admin_client.get(summary_url(campaign))
    today, *_, two_days_ago = [
        (
            day.deliveries,
            day.answered_first_call,
            day.answered_on_redial,
            day.handed_to_fallback,
            day.verified,
        )
        for day in response.context["conversion"][:3]
    ]
    assert today == (4, 2, 1, 1, 1)
    assert two_days_ago == (1, 0, 0, 0, 0)
    assert response.context["conversion_totals"]["deliveries"] == 5
    html = response.content.decode()
    assert "answered on a redial" in html and "handed to the fallback" in html


# -- the site's budget and the kill switch -------------------------------------------------------

SENDING = "/admin/django_voiceotp/call/sending/"


def test_the_call_list_says_when_the_site_budget_is_reached(admin_client, voiceotp, clock):
    voiceotp(SENDS_PER_HOUR=1)
    assert "Site budget reached" not in admin_client.get(CALLS).content.decode()
    with limits.consume_follow_up("0771122330"):
        pass
    html = admin_client.get(CALLS).content.decode()
    assert "Site budget reached: site_hour has used 1 of 1; nothing more is placed for 2700 s." in (
        html
    )
    assert f'<a href="{SENDING}">Sending</a>' in html


def test_the_admin_pauses_and_resumes_sending(admin_client, clock):
    page = admin_client.get(SENDING).content.decode()
    assert "Sending is on." in page and 'name="pause"' in page
    assert admin_client.post(SENDING, {"pause": "1"}).status_code == 302
    assert limits.sending_paused()
    html = admin_client.get(CALLS).content.decode()
    assert "Sending is paused: no call or fallback message is placed." in html
    assert 'name="resume"' in admin_client.get(SENDING).content.decode()
    admin_client.post(SENDING, {"resume": "1"})
    assert not limits.sending_paused()


def test_only_who_may_change_calls_may_pause_sending(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(viewer)
    assert 'name="pause"' not in client.get(SENDING).content.decode()
    assert client.post(SENDING, {"pause": "1"}).status_code == 403
    assert not limits.sending_paused()


class DownCache(LocMemCache):
    """A limits cache whose server is unreachable: every read and write raises."""

    def get(self, *args, **kwargs):
        raise ConnectionError("redis://:s3cret@cache.internal:6379 is unreachable")

    set = add = incr = delete = get_many = get


@pytest.fixture
def limits_cache(settings, voiceotp):
    """Use ``backend`` as the limits cache: ``limits_cache("tests.test_admin.DownCache")``."""

    def use(backend):
        settings.CACHES = {
            **settings.CACHES,
            "limits": {"BACKEND": backend, "LOCATION": "voiceotp_limits"},
        }
        voiceotp(LIMITS_CACHE_ALIAS="limits")

    return use


def admin_warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "django_voiceotp" and record.levelno == logging.WARNING
    ]


@pytest.mark.parametrize(
    ("backend", "error"),
    [
        ("tests.test_admin.DownCache", "ConnectionError"),
        ("django.core.cache.backends.db.DatabaseCache", "ImproperlyConfigured"),
    ],
)
def test_the_call_list_renders_when_the_limits_cache_fails(
    admin_client, limits_cache, caplog, backend, error
):
    limits_cache(backend)
    caplog.set_level(logging.WARNING, "django_voiceotp")
    response = admin_client.get(CALLS)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"The site budget cannot be read: {error}." in html
    assert f'<a href="{SENDING}">Sending</a>' in html
    assert admin_warnings(caplog) == [
        f"The site budget cannot be read from the limits cache: {error}"
    ]
    assert "s3cret" not in html and "s3cret" not in caplog.text


@pytest.mark.parametrize(
    ("backend", "error"),
    [
        ("tests.test_admin.DownCache", "ConnectionError"),
        ("django.core.cache.backends.db.DatabaseCache", "ImproperlyConfigured"),
    ],
)
def test_the_sending_page_shows_why_the_budget_cannot_be_read(
    admin_client, limits_cache, caplog, backend, error
):
    limits_cache(backend)
    caplog.set_level(logging.WARNING, "django_voiceotp")
    response = admin_client.get(SENDING)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"The site budget cannot be read: {error}." in html
    assert "voiceotp-budget" not in html and "Sending is on." not in html
    assert len(admin_warnings(caplog)) == 1
    assert "s3cret" not in html and "s3cret" not in caplog.text


@pytest.mark.parametrize(
    ("backend", "error"),
    [
        ("tests.test_admin.DownCache", "ConnectionError"),
        ("django.core.cache.backends.db.DatabaseCache", "ImproperlyConfigured"),
    ],
)
@pytest.mark.parametrize(("action", "verb"), [("pause", "paused"), ("resume", "resumed")])
def test_a_switch_the_cache_refuses_is_said_not_a_500(
    admin_client, admin_user, limits_cache, caplog, backend, error, action, verb
):
    limits_cache(backend)
    caplog.set_level(logging.WARNING, "django_voiceotp")
    response = admin_client.post(SENDING, {action: "1"}, follow=True)
    assert response.redirect_chain == [(SENDING, 302)]
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Sending could not be {verb}: {error}." in html
    assert f"Sending could not be {verb} from the admin by user pk={admin_user.pk}: {error}" in (
        admin_warnings(caplog)
    )
    assert "s3cret" not in caplog.text


def test_who_pauses_and_resumes_sending_is_logged(admin_client, admin_user, caplog, clock):
    caplog.set_level(logging.WARNING, "django_voiceotp")
    admin_client.post(SENDING, {"pause": "1"})
    assert f"Sending paused from the admin by user pk={admin_user.pk}." in admin_warnings(caplog)
    admin_client.post(SENDING, {"resume": "1"})
    assert f"Sending resumed from the admin by user pk={admin_user.pk}." in admin_warnings(caplog)
    history = LogEntry.objects.filter(content_type__model="call").order_by("pk")
    assert [(entry.user_id, entry.action_flag, entry.change_message) for entry in history] == [
        (admin_user.pk, CHANGE, "Paused sending."),
        (admin_user.pk, CHANGE, "Resumed sending."),
    ]
    index = admin_client.get(reverse("admin:index")).content.decode()
    recent = index[index.index('id="recent-actions-module"') :]
    assert recent[: recent.index("</ul>")].count("Sending") == 2  # both, on the admin's index


def test_the_sending_page_is_a_template_with_the_admins_breadcrumbs(admin_client, clock):
    response = admin_client.get(SENDING)
    assert [template.name for template in response.templates][0] == (
        "admin/django_voiceotp/call/sending.html"
    )
    html = response.content.decode()
    found = re.findall(r'<(\w+) class="breadcrumbs">(.*?)</\1>', html, re.S)
    assert len(found) == 1 and found[0][0] == "ol"
    crumbs = found[0][1]
    assert '<li aria-current="page">Sending</li>' in crumbs
    assert re.findall(r'<a href="([^"]+)"', crumbs) == [
        reverse("admin:index"),
        reverse("admin:app_list", args=["django_voiceotp"]),
        CALLS,
    ]
    assert "ol.breadcrumbs li { display: inline-block;" in html
    assert '<table class="voiceotp-budget">' in html and "site_hour" in html


@pytest.mark.django_db
def test_a_long_campaign_name_is_cut_in_the_calls_list_and_whole_in_its_tooltip(admin_client):
    name = "a campaign whose name is far longer than any column of the list should be"
    campaign = Campaign.objects.create(campaign_id="c-long", name=name)
    make_call(campaign)
    response = admin_client.get(reverse("admin:django_voiceotp_call_changelist"))
    assert response.status_code == 200
    assert (
        f'<span class="voiceotp-truncated voiceotp-truncated-short" title="{name}">{name}</span>'
        in response.content.decode()
    )
