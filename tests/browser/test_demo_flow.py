"""The demo and the admin in a real Chromium, as a newcomer and an operator would use them.

Screenshots go to ``test-artifacts/``, named by step, language and width: look at them to see what
the tests saw.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..demo_server import ARTIFACTS

pytestmark = pytest.mark.browser

#: A laptop and a phone, as (width, height).
DESKTOP, MOBILE = (1280, 900), (390, 844)
SIZES = pytest.mark.parametrize("size", [DESKTOP, MOBILE], ids=["1280", "390"])

#: What the Vietnamese page says, where the tests read it.
VIETNAMESE = {
    "phone": "Số điện thoại",
    "call": "Gọi cho tôi",
    "code": "Mã",
    "verify": "Xác thực",
    "success": "thành công",
    "verified": "Đã xác thực: số điện thoại này là của bạn.",
    "provider": "Nhà cung cấp thực hiện cuộc gọi",
    "placed_by": "Gọi qua",
    "sms": "Có tin nhắn SMS đến:",
}


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def request_call(page, phone_number: str, language: str = "en") -> None:
    if language == "vi":
        page.get_by_label(VIETNAMESE["phone"], exact=True).fill(phone_number)
        page.get_by_role("button", name=VIETNAMESE["call"]).click()
    else:
        page.get_by_label("Phone number").fill(phone_number)
        page.get_by_role("button", name="Call me").click()


def assert_no_horizontal_overflow(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


# -- the demo ------------------------------------------------------------------------------------


@SIZES
def test_a_newcomer_gets_a_call_and_verifies_the_code_as_the_phone_shows_it(
    page_for, demo_server, size
):
    width, height = size
    page = page_for(width=width, height=height)
    page.goto(demo_server.url + "/")
    expect(page).to_have_title(re.compile("Voice OTP demo"))
    assert_no_horizontal_overflow(page)
    screenshot(page, f"01-demo-start-en-{width}")

    request_call(page, "0771122330")
    status = page.get_by_test_id("call-status")
    expect(status).to_have_text("success")
    otp_panel = page.get_by_test_id("sandbox-otp")
    expect(otp_panel).to_be_visible()
    expect(page.locator("#phone-state")).to_have_text("You answered. The voice says:")
    shown = otp_panel.inner_text()
    assert re.fullmatch(r"\d( \d){5}", shown)  # spaced, as the voice reads it
    otp = shown.replace(" ", "")
    expect(page.get_by_label("Code", exact=True)).to_be_focused()
    assert_no_horizontal_overflow(page)
    if size == MOBILE:
        # One column: the phone that shows the code comes before the field that takes it.
        assert (
            box(page, "#phone-otp")["y"] + box(page, "#phone-otp")["height"]
            <= (box(page, "#code")["y"])
        )
    # The status history writes the times of an English page the English way.
    expect(page.locator("#status-history time").first).to_have_text(
        re.compile(r"^\d{1,2}:\d{2}:\d{2}\s?[AP]M$")
    )
    screenshot(page, f"02-demo-call-succeeded-en-{width}")

    page.get_by_label("Code", exact=True).fill("000000" if otp != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_text("That is not the code. Tries left: 4.")

    # Typed as the phone shows it, spaces and all: nothing is cut, the code is right.
    page.get_by_label("Code", exact=True).fill(shown)
    expect(page.get_by_label("Code", exact=True)).to_have_value(shown)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_text("Verified: this number is yours.")
    assert_no_horizontal_overflow(page)
    screenshot(page, f"03-demo-code-verified-en-{width}")


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_call_nobody_answers_is_followed_to_its_end(page_for, demo_server_quick_redial, language):
    """Nobody answers: the page says so in words, shows the redial coming and then the code sent
    by SMS, keeps polling until then, and the SMS's code verifies."""
    vietnamese = language == "vi"
    page = page_for(locale="vi-VN" if vietnamese else "en-US", width=MOBILE[0])
    page.goto(demo_server_quick_redial.url + "/")
    request_call(page, "0771122338", language)
    expect(page.locator("#call-id")).to_have_text(re.compile(r"#\d+"))
    first_id = int(page.locator("#call-id").inner_text().lstrip("#"))
    explanation = page.locator("#status-explanation")
    phone_state = page.locator("#phone-state")
    missed = (
        "Điện thoại đổ chuông nhưng không ai nhấc máy."
        if vietnamese
        else "The phone rang; nobody picked up."
    )

    # The first call is missed: the page says the server calls again, not "ask for a new call",
    # and the phone still shows the missed call (both read at once: the redial soon rings).
    calling_again = (
        r"^Không có người nghe máy\. Chúng tôi (sẽ gọi lại cho bạn sau \d+ giây|đang gọi lại)"
        if vietnamese
        else r"^Nobody answered\. We call you again (in \d+ seconds?|now)\.$"
    )
    page.wait_for_function(
        """([pattern, missed]) =>
            new RegExp(pattern).test(document.getElementById("status-explanation").textContent)
            && document.getElementById("phone-state").textContent === missed""",
        arg=[calling_again, missed],
    )
    screenshot(page, f"04-demo-call-not-answered-redial-{language}-390")

    # The redial is missed too; the code goes by SMS, and the page says so and asks for it.
    expect(explanation).to_contain_text(
        "Mã đã được gửi cho bạn qua SMS" if vietnamese else "The code was sent to you by SMS",
        timeout=30_000,
    )
    expect(page.get_by_test_id("call-status")).to_have_text("thất bại" if vietnamese else "failed")
    redial_id = int(page.locator("#call-id").inner_text().lstrip("#"))
    assert redial_id != first_id
    history = page.locator("#status-history li")
    expect(history.last).to_contain_text(f"#{redial_id} ")
    expect(phone_state).to_have_text(missed)
    # The provider's own spelling of the status is for operators, not for the visitor.
    assert "NOANWSER" not in page.locator("body").inner_text()
    expect(page.get_by_test_id("sandbox-otp")).to_be_hidden()
    expect(page.locator("#verify-step")).to_be_visible()
    # The SMS the eSMS sandbox took, on the phone: the code to type is in it.
    sms = page.get_by_test_id("sandbox-sms")
    expect(sms).to_have_text(re.compile(r"^Ma xac thuc cua ban la \d{6}\. "))
    expect(page.locator("#phone-sms .phone-state")).to_have_text(
        VIETNAMESE["sms"] if vietnamese else "An SMS arrived:"
    )
    assert_no_horizontal_overflow(page)
    screenshot(page, f"05-demo-code-sent-by-sms-{language}-390")

    code = re.search(r"\d{6}", sms.inner_text())[0]
    page.get_by_label(VIETNAMESE["code"] if vietnamese else "Code", exact=True).fill(code)
    page.get_by_role("button", name=VIETNAMESE["verify"] if vietnamese else "Verify").click()
    expect(page.locator("#verify-result")).to_have_text(
        VIETNAMESE["verified"] if vietnamese else "Verified: this number is yours."
    )


@pytest.mark.parametrize(("language", "size"), [("en", DESKTOP), ("vi", MOBILE)], ids=str)
def test_a_call_through_stringee_shows_the_provider_and_its_code_verifies(
    page_for, demo_server, language, size
):
    """The visitor picks Stringee: the page says Stringee placed the call, and its sandbox phone
    shows the code the voice read."""
    vietnamese = language == "vi"
    width, height = size
    page = page_for(locale="vi-VN" if vietnamese else "en-US", width=width, height=height)
    page.goto(demo_server.url + "/")
    # The choice is a labelled control: found by its label, as assistive technology finds it.
    choice = page.get_by_label(VIETNAMESE["provider"] if vietnamese else "Provider that calls")
    expect(choice).to_have_value("pitel")
    choice.select_option(label="Stringee")
    request_call(page, "0771122336", language)
    expect(page.get_by_test_id("call-status")).to_have_text(
        VIETNAMESE["success"] if vietnamese else "success"
    )
    provider = page.get_by_test_id("call-provider")
    expect(provider).to_have_text("Stringee")
    placed_by = VIETNAMESE["placed_by"] if vietnamese else "Placed by"
    expect(provider.locator("xpath=..")).to_have_text(
        re.compile(rf"^\s*{placed_by}\s+Stringee\s*$")
    )
    otp_panel = page.get_by_test_id("sandbox-otp")
    expect(otp_panel).to_have_text(re.compile(r"^\d( \d){5}$"))
    assert_no_horizontal_overflow(page)
    screenshot(page, f"06-demo-call-by-stringee-{language}-{width}")

    page.get_by_label(VIETNAMESE["code"] if vietnamese else "Code", exact=True).fill(
        otp_panel.inner_text()
    )
    page.get_by_role("button", name=VIETNAMESE["verify"] if vietnamese else "Verify").click()
    expect(page.locator("#verify-result")).to_have_text(
        VIETNAMESE["verified"] if vietnamese else "Verified: this number is yours."
    )


def test_a_call_pitel_cannot_place_shows_stringee_placed_it_and_its_phone(page_for, demo_server):
    """Pitel answers 503: the call asked of Pitel is placed by Stringee, and the page follows it
    there (the provider shown, the code read from Stringee's sandbox)."""
    page = page_for()
    page.goto(demo_server.url + "/")
    fault = page.request.post(
        demo_server.url + "/sandbox/_sandbox/faults",
        data={"kind": "http_error", "endpoint": "voiceotp", "status": 503},
    )
    assert fault.status == 204
    expect(page.get_by_label("Provider that calls")).to_have_value("pitel")
    request_call(page, "0771122335")
    expect(page.get_by_test_id("call-status")).to_have_text("success")
    expect(page.get_by_test_id("call-provider")).to_have_text("Stringee")
    otp_panel = page.get_by_test_id("sandbox-otp")
    expect(otp_panel).to_have_text(re.compile(r"^\d( \d){5}$"))
    screenshot(page, "06-demo-call-failed-over-to-stringee-en-1280")
    page.get_by_label("Code", exact=True).fill(otp_panel.inner_text())
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_text("Verified: this number is yours.")


@SIZES
def test_the_demo_in_vietnamese_follows_the_page_not_the_browser(page_for, demo_server, size):
    width, height = size
    # An English browser; the visitor picks Vietnamese on the page.
    page = page_for(locale="en-US", width=width, height=height)
    page.goto(demo_server.url + "/")
    page.locator("button[name=language][value=vi]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demo OTP qua cuộc gọi thoại")
    request_call(page, "0771122336", "vi")
    expect(page.get_by_test_id("call-status")).to_have_text(VIETNAMESE["success"])
    # Times as a Vietnamese page writes them, 18:19:47, although the browser is English.
    history = page.locator("#status-history li")
    expect(history.first).to_contain_text("đã gửi")
    for time_text in page.locator("#status-history time").all_inner_texts():
        assert re.fullmatch(r"\d{1,2}:\d{2}:\d{2}", time_text), time_text
    otp = page.get_by_test_id("sandbox-otp").inner_text().replace(" ", "")
    # Dashes, as people write codes down, are accepted too.
    page.get_by_label(VIETNAMESE["code"], exact=True).fill(f"{otp[:3]}-{otp[3:]}")
    page.get_by_role("button", name=VIETNAMESE["verify"]).click()
    expect(page.locator("#verify-result")).to_have_text(VIETNAMESE["verified"])
    assert_no_horizontal_overflow(page)
    screenshot(page, f"05-demo-vietnamese-{width}")

    # The switch back to English is kept for the next pages.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Call me")).to_be_visible()


COOLDOWN_CASES = [
    ("en", DESKTOP, "0771122320"),
    ("en", MOBILE, "0771122321"),
    ("vi", DESKTOP, "0771122322"),
    ("vi", MOBILE, "0771122323"),
]


@pytest.mark.parametrize(
    ("language", "size", "number"),
    COOLDOWN_CASES,
    ids=[f"{language}-{size[0]}" for language, size, _ in COOLDOWN_CASES],
)
def test_a_second_request_within_the_cooldown_counts_down_and_keeps_the_call(
    page_for, demo_server_with_cooldown, language, size, number
):
    width, height = size
    page = page_for(locale="vi-VN" if language == "vi" else "en-US", width=width, height=height)
    page.goto(demo_server_with_cooldown.url + "/")
    request_call(page, number, language)
    success = VIETNAMESE["success"] if language == "vi" else "success"
    expect(page.get_by_test_id("call-status")).to_have_text(success)
    otp = page.get_by_test_id("sandbox-otp").inner_text()
    code_field = page.locator("#code")
    code_field.fill(otp)
    page.locator("#verify-button").click()
    verified = VIETNAMESE["verified"] if language == "vi" else "Verified: this number is yours."
    expect(page.locator("#verify-result")).to_have_text(verified)

    page.locator("#call-button").click()
    wait = page.locator("#call-wait")
    if language == "vi":
        pattern = r"Bạn vừa yêu cầu một cuộc gọi\. Bạn có thể yêu cầu lại sau (\d+) giây\."
    else:
        pattern = r"You asked for a call a moment ago\. You can ask again in (\d+) seconds\."
    expect(wait).to_have_text(re.compile(pattern))
    first = int(re.fullmatch(pattern, wait.inner_text())[1])
    assert 50 <= first <= 60
    expect(page.locator("#call-button")).to_be_disabled()
    # The seconds count down on their own.
    expect(wait).not_to_have_text(wait.inner_text())
    assert int(re.fullmatch(pattern, wait.inner_text())[1]) < first
    # Nothing was placed: the verified call is still on the page.
    expect(page.get_by_test_id("call-status")).to_have_text(success)
    expect(page.locator("#verify-result")).to_have_text(verified)
    expect(page.get_by_test_id("sandbox-otp")).to_have_text(otp)
    assert_no_horizontal_overflow(page)
    screenshot(page, f"06-demo-cooldown-{language}-{width}")

    # Another number may be called at once.
    page.locator("#phone").fill("0771122324" if language == "en" else "0771122325")
    expect(page.locator("#call-button")).to_be_enabled()
    expect(wait).to_be_hidden()


def test_the_demo_has_a_favicon(page_for, demo_server):
    page = page_for()
    response = page.request.get(demo_server.url + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    page.goto(demo_server.url + "/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(demo_server.url + icon).status == 200


# -- the admin -----------------------------------------------------------------------------------


def log_in(page, demo_server):
    username, password = demo_server.credentials()
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()


LONG_REASON = (
    "The provider refused the request (campaigns/c78af/voiceotp).; HTTP 404; provider says: "
    "the campaign is not active for this account, check it in the provider's dashboard"
)


@pytest.fixture(scope="module")
def admin_data(demo_server):
    """A failed verification and a call with a long failure reason, beside the tests' own calls."""
    demo_server.shell(
        "from django.utils import timezone\n"
        "from django_voiceotp.models import Call, Campaign\n"
        "campaign, _ = Campaign.objects.get_or_create(campaign_id='c78af')\n"
        "Call.objects.create(campaign=campaign, phone_number='0771122335', status='failed',\n"
        f"    finished_at=timezone.now(), failure_reason={LONG_REASON!r})\n"
    )
    return demo_server


def assert_list_fits(page) -> None:
    """The change list needs no horizontal scrolling, and no row is taller than three lines (a
    date and a state such as "superseded by a newer code" wrap; a failure reason does not)."""
    results = page.locator("#changelist .results")
    scroll_width, client_width = results.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll_width <= client_width, f"the list is {scroll_width} px in {client_width} px"
    for row in page.locator("#result_list tbody tr").all():
        assert row.bounding_box()["height"] < 70


def assert_in_view(page, locator) -> None:
    """Visible without scrolling sideways: inside the window and inside the list's box."""
    right = locator.bounding_box()["x"] + locator.bounding_box()["width"]
    results = page.locator("#changelist .results").bounding_box()
    assert right <= results["x"] + results["width"] + 0.5
    assert right <= DESKTOP[0]


LISTS = {
    "en": {
        "calls": "Select call to change",
        "finished": "Finished",
        "reason": "Failure reason",
        "per_day": "Calls per day",
        "view_call": "View call",
        "call_failed": "call failed",
    },
    "vi": {
        "calls": "Chọn cuộc gọi để thay đổi",
        "finished": "Kết thúc lúc",
        "reason": "Lý do thất bại",
        "per_day": "Cuộc gọi theo ngày",
        "view_call": "Xem cuộc gọi",
        "call_failed": "cuộc gọi thất bại",
    },
}


@pytest.mark.parametrize("language", ["en", "vi"])
def test_an_operator_reads_the_lists_without_scrolling_sideways(page_for, admin_data, language):
    demo_server = admin_data
    words = LISTS[language]
    page = page_for(locale="vi-VN" if language == "vi" else "en-US")
    page.goto(demo_server.url + "/")
    request_call(page, "0771122331", language)
    expect(page.get_by_test_id("call-status")).to_have_text(
        VIETNAMESE["success"] if language == "vi" else "success"
    )
    otp = page.get_by_test_id("sandbox-otp").inner_text().replace(" ", "")
    request_call(page, "0771122339", language)  # fails: its verification says so
    expect(page.get_by_test_id("call-status")).to_have_text(
        "thất bại" if language == "vi" else "failed"
    )

    page.goto(demo_server.url + "/admin/django_voiceotp/call/")
    log_in(page, demo_server)
    expect(page.get_by_role("heading", level=1)).to_have_text(words["calls"])
    assert_list_fits(page)
    assert_in_view(page, page.get_by_role("columnheader", name=words["finished"]))
    assert_in_view(page, page.get_by_role("columnheader", name=words["reason"]))
    long_reason = page.locator(".voiceotp-truncated", has_text="campaigns/c78af/voiceotp")
    expect(long_reason).to_have_attribute("title", LONG_REASON.replace(".; ", "; "))
    assert_in_view(page, long_reason)
    assert otp not in page.content()
    screenshot(page, f"07-admin-calls-{language}")

    page.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["view_call"])
    timeline = page.locator(".voiceotp-timeline")
    expect(timeline).to_be_visible()
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", timeline.inner_text())
    assert ".; HTTP" not in page.content()
    screenshot(page, f"08-admin-call-{language}")

    page.goto(demo_server.url + "/admin/django_voiceotp/campaign/")
    assert_list_fits(page)
    per_day = page.get_by_role("link", name=words["per_day"]).first
    assert_in_view(page, per_day)
    screenshot(page, f"09-admin-campaigns-{language}")

    per_day.click()
    expect(page.locator("svg.voiceotp-chart")).to_be_visible()
    axis = set(page.locator("svg.voiceotp-chart > text").all_text_contents())
    days = page.locator(".voiceotp-summary table tbody tr td:first-child").all_inner_texts()
    axis_days = {label for label in axis if not re.fullmatch(r"[\d.,]+%?", label)}
    assert axis_days and axis_days <= set(days), (axis_days, days[:3])
    screenshot(page, f"10-admin-campaign-summary-{language}")

    page.goto(demo_server.url + "/admin/django_voiceotp/verification/")
    assert_list_fits(page)
    failed = page.locator("#result_list tbody tr", has_text=words["call_failed"]).first
    expect(failed).to_be_visible()
    assert_in_view(page, failed.locator(".field-call_link a"))
    screenshot(page, f"11-admin-verifications-{language}")


def test_the_admin_in_vietnamese_speaks_it(page_for, demo_server):
    page = page_for(locale="vi-VN")
    page.goto(demo_server.url + "/admin/django_voiceotp/call/")
    log_in(page, demo_server)
    expect(page.locator("#changelist-filter")).to_contain_text("thành công")
    expect(page.locator("select[name=action]")).to_contain_text("Kiểm tra trạng thái ngay")
    page.goto(demo_server.url + "/admin/django_voiceotp/verification/")
    # A verification and a call are "pending" in different words.
    filters = page.locator("#changelist-filter").inner_text()
    assert "chờ gửi" not in filters


@pytest.mark.parametrize("language", ["en", "vi"])
def test_an_operator_on_a_phone_reads_the_admin_without_the_page_overflowing(
    page_for, admin_data, language
):
    # The lists may scroll inside their own box on a phone (Django's responsive admin); the page
    # itself, the call's page and its timeline must not run off the screen.
    demo_server = admin_data
    page = page_for(
        locale="vi-VN" if language == "vi" else "en-US", width=MOBILE[0], height=MOBILE[1]
    )
    page.goto(demo_server.url + "/admin/django_voiceotp/call/")
    log_in(page, demo_server)
    expect(page.get_by_role("heading", level=1)).to_have_text(LISTS[language]["calls"])
    assert_no_horizontal_overflow(page)
    screenshot(page, f"12-admin-calls-{language}-390")

    page.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(LISTS[language]["view_call"])
    expect(page.locator(".voiceotp-timeline")).to_be_visible()
    assert_no_horizontal_overflow(page)
    screenshot(page, f"13-admin-call-{language}-390")

    page.goto(demo_server.url + "/admin/django_voiceotp/verification/")
    assert_no_horizontal_overflow(page)
    screenshot(page, f"14-admin-verifications-{language}-390")
