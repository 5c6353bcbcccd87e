"""Translations: the shipped catalogues are complete and compiled; the admin reads in Vietnamese."""

from __future__ import annotations

import ast
import gettext
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from django_voiceotp.models import Call, CallbackEvent, Campaign

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = [
    ROOT / "django_voiceotp" / "locale" / "vi" / "LC_MESSAGES" / "django.po",
    ROOT / "example_project" / "demo" / "locale" / "vi" / "LC_MESSAGES" / "django.po",
]


#: Between a context and its msgid in a key of ``read_po``, as gettext joins them in a .mo file.
CONTEXT_SEPARATOR = "\x04"


def read_po(path: Path) -> dict[str, str]:
    """{msgid: msgstr} of a .po file (the first form of a plural), fuzzy entries marked.

    An entry with a context is keyed ``context + CONTEXT_SEPARATOR + msgid``: "pending" of a call
    and "pending" of a verification are two entries.
    """
    entries: dict[str, str] = {}
    fields: dict[str, str] = {}
    current = None
    fuzzy = False

    def flush():
        nonlocal fuzzy
        if "msgid" in fields and fields["msgid"]:
            key = fields["msgid"]
            if "msgctxt" in fields:
                key = fields["msgctxt"] + CONTEXT_SEPARATOR + key
            entries[key] = "<fuzzy>" if fuzzy else fields.get("msgstr", "")
        fields.clear()
        fuzzy = False

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            current = None
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[current] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            if keyword in ("msgid", "msgctxt") and "msgid" in fields:
                flush()  # an entry not followed by a blank line
            current = "msgstr" if keyword.startswith("msgstr") else keyword
            if keyword in ("msgstr[1]", "msgstr[2]"):
                current = "ignored"
            fields[current] = fields.get(current, "") + ast.literal_eval(value)
    return entries


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: path.parts[-5])
def test_vietnamese_catalogue_is_complete_and_its_mo_is_up_to_date(po):
    entries = read_po(po)
    assert len(entries) > 20
    untranslated = [msgid for msgid, msgstr in entries.items() if not msgstr]
    assert untranslated == []
    assert [msgid for msgid, msgstr in entries.items() if msgstr == "<fuzzy>"] == []
    with po.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [key for key, msgstr in entries.items() if translated(compiled, key) != msgstr]
    assert stale == [], "run compilemessages and commit the .mo"


def translated(catalogue: gettext.GNUTranslations, key: str) -> str:
    context, separator, msgid = key.rpartition(CONTEXT_SEPARATOR)
    return catalogue.pgettext(context, msgid) if separator else catalogue.gettext(msgid)


def test_an_english_catalogue_is_shipped():
    po = ROOT / "django_voiceotp" / "locale" / "en" / "LC_MESSAGES" / "django.po"
    assert set(read_po(po)) == set(read_po(CATALOGUES[0]))
    assert po.with_suffix(".mo").exists()


@pytest.mark.django_db
def test_the_admin_reads_in_vietnamese(admin_client):
    campaign = Campaign.objects.create(campaign_id="c78af", name="Đăng ký")
    call = Call.objects.create(
        campaign=campaign,
        phone_number="0771122330",
        status=Call.Status.FAILED,
        failure_reason="BUSY",
        finished_at=timezone.now(),
    )
    CallbackEvent.objects.create(call=call, verdict="duplicate", payload={"status": "BUSY"})
    # The test settings have no LocaleMiddleware: the language is activated around the requests.
    with translation.override("vi"):
        pages = {
            "calls": admin_client.get(reverse("admin:django_voiceotp_call_changelist")),
            "call": admin_client.get(reverse("admin:django_voiceotp_call_change", args=[call.pk])),
            "campaigns": admin_client.get(reverse("admin:django_voiceotp_campaign_changelist")),
            "summary": admin_client.get(
                reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
            ),
        }
        html = {name: response.content.decode() for name, response in pages.items()}

    assert "Kiểm tra trạng thái ngay" in html["calls"]  # the action
    assert "Thực hiện lại cuộc gọi với cùng mã OTP" in html["calls"]
    assert "thất bại" in html["calls"] and "số điện thoại" in html["calls"]
    assert f"Cuộc gọi {call.pk} đến 077****330 (thất bại)" in html["call"]
    assert "Diễn biến" in html["call"] and "Thất bại: BUSY" in html["call"]
    assert "trùng lặp (cuộc gọi đã có kết quả)" in html["call"]
    assert "Tỉ lệ thành công 7 ngày qua" in html["campaigns"]
    assert "Cuộc gọi theo ngày và tỉ lệ thành công" in html["summary"]
    # Vietnamese writes 66,7 for 66.7: the chart's coordinates must stay numbers.
    svg = re.search(r"<svg class=\"voiceotp-chart\".*?</svg>", html["summary"], re.S).group(0)
    number = r"-?\d+(\.\d+)?"
    values = re.findall(r' (?:x|y|x1|x2|y1|y2|cx|cy|width|height)="([^"]*)"', svg)
    assert any("." in value for value in values)  # fractions are there, with a point
    for value in values:
        assert re.fullmatch(number, value), value
    for page in html.values():
        for english in ("Poll status now", "Calls per day", "Timeline", "success rate"):
            assert english not in page


@pytest.mark.django_db
def test_the_redial_chain_and_the_conversion_read_in_vietnamese(admin_client):
    campaign = Campaign.objects.create(campaign_id="c78af")
    first = Call.objects.create(
        campaign=campaign, phone_number="0771122330", status="failed", failure_reason="BUSY"
    )
    redial = Call.objects.create(
        campaign=campaign,
        phone_number="0771122330",
        status="failed",
        failure_reason="BUSY",
        redial_of=first,
        attempt=2,
        fallback_status=Call.FallbackStatus.SENT,
        fallback_sent_at=timezone.now(),
    )
    with translation.override("vi"):
        call_page = admin_client.get(
            reverse("admin:django_voiceotp_call_change", args=[redial.pk])
        ).content.decode()
        summary = admin_client.get(
            reverse("admin:django_voiceotp_campaign_summary", args=[campaign.pk])
        ).content.decode()
        calls = admin_client.get(reverse("admin:django_voiceotp_call_changelist")).content.decode()
    assert "Liên lạc được với người nhận" in call_page and "Gọi lại cho cuộc gọi" in call_page
    assert "Mã OTP đã được chuyển cho kênh dự phòng" in call_page
    assert "nghe máy ở cuộc gọi lại" in summary and "chuyển cho kênh dự phòng" in summary
    assert "cuộc gọi đầu tiên" in calls and "kênh dự phòng" in calls
    for page in (call_page, summary, calls):
        for english in ("Reaching the person", "answered on a redial", "redial of", "first call"):
            assert english not in page


@pytest.mark.django_db
def test_a_pending_call_and_a_pending_code_are_different_words_in_vietnamese(admin_client):
    from django_voiceotp.models import Verification

    campaign = Campaign.objects.create(campaign_id="c78af")
    call = Call.objects.create(
        campaign=campaign, phone_number="0771122330", status=Call.Status.SUCCESS
    )
    Verification.objects.create(
        phone_number="0771122330",
        code_hash="x",
        call=call,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    with translation.override("vi"):
        assert str(Call.Status.PENDING.label) == "chờ gửi"
        assert str(Verification.State.PENDING.label) == "chờ nhập mã"
        page = admin_client.get(reverse("admin:django_voiceotp_verification_changelist"))
    html = page.content.decode()
    # The code waits to be typed; its call did succeed: nothing waits to be sent.
    assert '<td class="field-state_display">chờ nhập mã</td>' in html
    assert "chờ gửi" not in html.split('id="changelist-filter"')[0]


# -- Vietnamese wording: one word for one thing ---------------------------------------------------

VIETNAMESE = {path.parts[-5]: read_po(path) for path in CATALOGUES}


def vietnamese_entries():
    for catalogue, entries in VIETNAMESE.items():
        for key, msgstr in entries.items():
            yield catalogue, key.rpartition(CONTEXT_SEPARATOR)[2], msgstr


def test_answering_the_phone_is_nghe_may_never_tra_loi():
    """ "Trả lời" is answering a question; a person answers a phone: "nghe máy" ("bắt máy" where
    "nghe" follows, as in "bắt máy và nghe mã")."""
    answered = [
        (msgid, msgstr)
        for _catalogue, msgid, msgstr in vietnamese_entries()
        # A server that does not answer is not a phone.
        if re.search(r"\banswer", msgid, re.I) and "server" not in msgid
    ]
    assert len(answered) >= 6
    for msgid, msgstr in answered:
        assert "trả lời" not in msgstr.lower(), msgid
        assert "nghe máy" in msgstr or "bắt máy" in msgstr, msgid
    assert not [msgstr for *_, msgstr in vietnamese_entries() if "trả lời" in msgstr.lower()]


def test_a_token_is_a_token_and_mã_xác_thực_is_the_persons_code():
    entries = VIETNAMESE["django_voiceotp"]
    assert entries["The callback token is not valid or has expired."] == (
        "Token callback không hợp lệ hoặc đã hết hạn."
    )
    for _catalogue, msgid, msgstr in vietnamese_entries():
        if "token" in msgid.lower():
            assert "mã" not in msgstr.lower(), msgid
        if "mã xác thực" in msgstr:
            assert "code" in msgid.lower(), msgid  # the person's code, never a hash or a token
    assert entries["code hash"] == "giá trị băm của mã"


def test_ids_are_id_not_mã():
    """ "Mã" is the passcode; an identifier is an "ID"."""
    ids = [
        (msgid, msgstr)
        for _catalogue, msgid, msgstr in vietnamese_entries()
        if re.search(r"\bid\b", msgid.replace("%(id)s", ""), re.I)
    ]
    assert len(ids) >= 5
    for msgid, msgstr in ids:
        assert "ID" in msgstr and not msgstr.lower().startswith("mã"), msgid
        assert "mã cuộc gọi" not in msgstr and "mã chiến dịch" not in msgstr, msgid


def test_timestamp_columns_say_when():
    """A date column reads "… lúc" (at), not "đã …" (done), which reads as a yes/no column."""
    from django.apps import apps
    from django.db import models

    with translation.override("vi"):
        names = {
            f"{model.__name__}.{field.name}": str(field.verbose_name)
            for model in apps.get_app_config("django_voiceotp").get_models()
            for field in model._meta.get_fields()
            if isinstance(field, models.DateTimeField)
        }
    assert names["Call.sent_at"] == "gửi lúc"
    assert names["Call.fallback_sent_at"] == "gửi qua kênh dự phòng lúc"
    assert names["Verification.verified_at"] == "xác thực lúc"
    assert names["CallbackEvent.last_received_at"] == "nhận lần cuối lúc"
    for name, vietnamese in names.items():
        if "next_" in name:
            assert vietnamese.endswith("tiếp theo"), name
        else:
            assert vietnamese.endswith(" lúc"), name


def test_placing_a_call_again_by_hand_is_not_a_redial():
    """A redial is "cuộc gọi lại" (the delivery policy's); the admin's action places the call
    again and says so in other words."""
    entries = VIETNAMESE["django_voiceotp"]
    assert entries["redial"] == "cuộc gọi lại"
    action = entries["Call again with the same passcode"]
    assert action == "Thực hiện lại cuộc gọi với cùng mã OTP"
    placed = entries["Call %(id)s is placed again as call %(new_id)s."]
    assert placed == "Cuộc gọi %(id)s đã được thay bằng cuộc gọi mới %(new_id)s."
    for msgid in (
        "Call again with the same passcode",
        "Call %(id)s cannot be placed again: %(reason)s",
        "Call %(id)s is placed again as call %(new_id)s.",
    ):
        assert "gọi lại" not in entries[msgid], msgid


@pytest.mark.parametrize(
    ("msgid", "msgstr"),
    [
        ("verification", "lượt xác thực"),
        ("verifications", "lượt xác thực"),
        ("verdict", "kết quả xử lý"),
        ("remote address", "địa chỉ IP nguồn"),
        ("Who asked for the code, if known.", "Địa chỉ IP đã yêu cầu mã (nếu biết)."),
        ("Poll status now", "Kiểm tra trạng thái ngay"),
        (
            "Succeeded: the person answered and heard the passcode",
            "Thành công: người nhận đã bắt máy và nghe mã OTP",
        ),
        (
            "The request could not be stored as received.",
            "Không thể lưu nguyên văn yêu cầu đã nhận.",
        ),
        (
            "Rejected requests from one address are counted on one event.",
            "Các yêu cầu bị từ chối từ cùng một địa chỉ được gộp vào một sự kiện.",
        ),
    ],
)
def test_reviewed_vietnamese_wording(msgid, msgstr):
    assert VIETNAMESE["django_voiceotp"][msgid] == msgstr
