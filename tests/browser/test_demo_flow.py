"""The demo and the admin in a real Chromium, as a newcomer and an operator would use them.

Screenshots go to ``test-artifacts/``: look at them to see what the tests saw.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..demo_server import ARTIFACTS

pytestmark = pytest.mark.browser


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def request_call(page, phone_number: str) -> None:
    page.get_by_label("Phone number").fill(phone_number)
    page.get_by_role("button", name="Call me").click()


def test_a_newcomer_gets_a_call_and_verifies_the_code(page_for, demo_server):
    page = page_for()
    page.goto(demo_server.url + "/")
    expect(page).to_have_title(re.compile("Voice OTP demo"))
    screenshot(page, "01-demo-start")

    request_call(page, "0771122330")
    status = page.get_by_test_id("call-status")
    expect(status).to_have_text("success")
    otp_panel = page.get_by_test_id("sandbox-otp")
    expect(otp_panel).to_be_visible()
    expect(page.locator("#phone-state")).to_have_text("You answered. The voice says:")
    otp = otp_panel.inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{6}", otp)
    expect(page.get_by_label("Code")).to_be_focused()
    screenshot(page, "02-demo-call-succeeded")

    page.get_by_label("Code").fill("000000" if otp != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_text("That is not the code. Tries left: 4.")

    page.get_by_label("Code").fill(otp)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_text("Verified: this number is yours.")
    screenshot(page, "03-demo-code-verified")


def test_a_call_nobody_answers_says_so(page_for, demo_server):
    page = page_for()
    page.goto(demo_server.url + "/")
    request_call(page, "0771122338")
    expect(page.get_by_test_id("call-status")).to_have_text("failed")
    expect(page.locator("#status-explanation")).to_have_text("Nobody answered. Ask for a new call.")
    expect(page.locator("#phone-state")).to_have_text("The phone did not pick up (NOANWSER)")
    expect(page.get_by_test_id("sandbox-otp")).to_be_hidden()
    expect(page.locator("#verify-step")).to_be_hidden()
    screenshot(page, "04-demo-call-not-answered")


def test_the_demo_in_vietnamese(page_for, demo_server):
    page = page_for(locale="vi-VN")  # Accept-Language: vi
    page.goto(demo_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demo OTP qua cuộc gọi thoại")
    page.get_by_label("Số điện thoại", exact=True).fill("0771122336")
    page.get_by_role("button", name="Gọi cho tôi").click()
    expect(page.get_by_test_id("call-status")).to_have_text("thành công")
    otp = page.get_by_test_id("sandbox-otp").inner_text().replace(" ", "")
    page.get_by_label("Mã", exact=True).fill(otp)
    page.get_by_role("button", name="Xác thực").click()
    expect(page.locator("#verify-result")).to_have_text(
        "Đã xác thực: số điện thoại này là của bạn."
    )
    screenshot(page, "05-demo-vietnamese")

    # The switch back to English is kept for the next pages.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Call me")).to_be_visible()


def log_in(page, demo_server):
    username, password = demo_server.credentials()
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()


def test_an_operator_opens_the_calls_in_the_admin(page_for, demo_server):
    page = page_for(width=1400)
    page.goto(demo_server.url + "/")
    request_call(page, "0771122331")
    expect(page.get_by_test_id("call-status")).to_have_text("success")
    otp = page.get_by_test_id("sandbox-otp").inner_text().replace(" ", "")

    # From the demo page's footer to the admin, with the credentials rundemo printed.
    page.get_by_role("link", name="Open the admin").click()
    log_in(page, demo_server)

    expect(page.get_by_role("heading", level=1)).to_have_text("Select call to change")
    row = page.locator("#result_list tbody tr").first
    expect(row.locator(".voiceotp-badge")).to_have_text("success")
    expect(row).to_contain_text("077****331")
    assert otp not in page.content()
    screenshot(page, "06-admin-calls")

    row.get_by_role("link").first.click()
    expect(page.locator(".voiceotp-timeline li")).to_have_count(5)
    assert otp not in page.content()
    screenshot(page, "07-admin-call")

    page.goto(demo_server.url + "/admin/django_voiceotp/campaign/")
    page.get_by_role("link", name="Calls per day").first.click()
    expect(page.locator("svg.voiceotp-chart")).to_be_visible()
    screenshot(page, "08-admin-campaign-summary")


def test_the_admin_in_vietnamese(page_for, demo_server):
    page = page_for(locale="vi-VN", width=1400)
    page.goto(demo_server.url + "/admin/django_voiceotp/call/")
    log_in(page, demo_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Chọn cuộc gọi để thay đổi")
    expect(page.locator("#changelist-filter")).to_contain_text("thành công")
    expect(page.locator("select[name=action]")).to_contain_text("Hỏi trạng thái ngay")
    screenshot(page, "09-admin-calls-vietnamese")

    page.goto(demo_server.url + "/admin/django_voiceotp/campaign/")
    page.get_by_role("link", name="Cuộc gọi theo ngày").first.click()
    expect(page.locator("svg.voiceotp-chart rect").first).to_be_attached()
    screenshot(page, "10-admin-campaign-summary-vietnamese")
