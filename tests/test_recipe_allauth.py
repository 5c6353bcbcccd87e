"""docs/integrations/allauth.rst, built as a new user would: a startproject project and the
page's blocks only, then sign-up and login by phone with a national-form Vietnamese number
through allauth's pages and its headless API, each call placed on the sandbox the project mounts
and each code read from the sandbox.

Each flow runs in one ``manage.py shell`` (a Django test Client keeps its session there), while
the project's runserver serves the sandbox and takes its callbacks. Each shell is a process of
its own, so the limits' counters (LocMemCache) start afresh in each, as across a cooldown.
"""

from __future__ import annotations

import json
import textwrap

import docutils.core
import pytest

from .recipes import DOCS, QUICKSTART_FILES, Project, marked_blocks, unmarked_blocks, user_env

PAGE = DOCS / "integrations" / "allauth.rst"
NUMBER = "0771122340"  # as every Vietnamese person writes it
HEADLESS_NUMBER = "0771122341"

#: Shared by every flow: a Client on this site, the sandbox's newest code for a number, and a POST
#: to allauth's headless API.
PRELUDE = """
import json
import urllib.request

from django.test import Client


def code_for(number):
    url = "http://{address}/sandbox/_sandbox/calls?phone_number=" + number
    with urllib.request.urlopen(url) as response:
        return json.load(response)[0]["otp"]  # newest first


def pending(body):
    return [flow["id"] for flow in body["data"]["flows"] if flow.get("is_pending")]


def logged_in(client):
    return client.session.get("_auth_user_id") is not None


def post(path, body):
    # A POST to allauth's headless API for browsers, in JSON: the status and the answer.
    response = client.post("/_allauth/browser/v1" + path, body, content_type="application/json")
    return response.status_code, response.json()


client = Client(HTTP_HOST="127.0.0.1")
seen = []
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    # The page's steps in order, in a shell whose PATH finds this venv's python (an activated
    # venv); the server starts where the page runs runserver.
    built = Project(tmp_path_factory.mktemp("allauth_recipe"), env=user_env())
    built.build(marked_blocks(PAGE.read_text()))
    built.wait_until_serving("/accounts/login/")
    yield built
    built.stop()


def flow(project: Project, body: str) -> list:
    """Run ``body`` after PRELUDE in the project's shell; it appends to ``seen``, returned."""
    code = PRELUDE.format(address=project.address) + textwrap.dedent(body)
    code += "\nprint(json.dumps(seen))\n"
    return json.loads(project.shell(code).splitlines()[-1])


def test_every_block_of_the_page_is_marked():
    assert unmarked_blocks(PAGE.read_text()) == []
    actions = [(block.action, block.path) for block in marked_blocks(PAGE.read_text())]
    for needed in [*QUICKSTART_FILES, ("command", None)]:
        assert needed in actions


def test_the_page_names_one_project():
    # Every dotted path the page gives is importable in a project named as the page names it.
    text = PAGE.read_text()
    assert "myproject" not in text
    assert "django_voiceotp.contrib.allauth.adapter.VoiceOTPAccountAdapter" in text


def test_the_project_checks_clean(project):
    checked = project.manage("check")
    said = checked.stdout + checked.stderr
    assert "Error" not in said
    assert "django_voiceotp.W003" not in said  # the Celery app of celery.py is the one in use
    assert "voiceotp_allauth." not in said  # the app before allauth, an adapter that calls


def test_sign_up_and_log_in_by_phone_through_allauths_pages(project):
    signed_up = flow(
        project,
        f"""
        response = client.post(
            "/accounts/signup/",
            {{"phone": "{NUMBER}", "username": "lan", "password1": "a-long-pass-9",
              "password2": "a-long-pass-9"}},
        )
        seen.append([response.status_code, response["Location"]])
        page = client.get(response["Location"]).content.decode()
        seen.append("We are calling" in page and "has been sent" not in page)
        verified = client.post("/accounts/phone/verify/", {{"code": code_for("{NUMBER}")}})
        seen.append([verified.status_code, logged_in(client)])
        from django_voiceotp.contrib.allauth.models import PhoneNumber
        seen.append(list(PhoneNumber.objects.values_list("phone", "verified", "user__username")))
        """,
    )
    assert signed_up == [
        [302, "/accounts/phone/verify/"],
        True,
        [302, True],
        [["+84771122340", True, "lan"]],
    ]

    logged = flow(
        project,
        f"""
        response = client.post("/accounts/login/code/", {{"phone": "{NUMBER}"}})
        seen.append([response.status_code, response["Location"]])
        code = code_for("{NUMBER}")
        wrong = client.post("/accounts/login/code/confirm/", {{"code": "0" * len(code)}})
        seen.append([wrong.status_code, logged_in(client)])
        right = client.post("/accounts/login/code/confirm/", {{"code": code}})
        seen.append([right.status_code, logged_in(client)])
        from django.contrib.auth import get_user_model
        seen.append(get_user_model().objects.get(pk=client.session["_auth_user_id"]).username)
        # Another code within the number's cooldown: refused, with the wait on the page.
        other = Client(HTTP_HOST="127.0.0.1")
        limited = other.post("/accounts/login/code/", {{"phone": "{NUMBER}"}})
        page = limited.content.decode()
        seen.append([limited.status_code, 0 < int(limited["Retry-After"]) <= 60])
        seen.append("You can ask for a new call in" in page)
        """,
    )
    assert logged == [
        [302, "/accounts/login/code/confirm/"],
        [200, False],
        [302, True],
        "lan",
        [429, True],
        True,
    ]
    assert_calls_placed(project, NUMBER, 2)


def test_sign_up_and_log_in_by_phone_through_the_headless_api(project):
    signed_up = flow(
        project,
        f"""
        status, body = post(
            "/auth/signup",
            {{"phone": "{HEADLESS_NUMBER}", "username": "an", "password": "a-long-pass-9"}},
        )
        seen.append([status, pending(body)])
        status, body = post("/auth/phone/verify", {{"code": code_for("{HEADLESS_NUMBER}")}})
        seen.append([status, body["meta"]["is_authenticated"], body["data"]["user"]["username"]])
        """,
    )
    assert signed_up == [[401, ["verify_phone"]], [200, True, "an"]]

    logged = flow(
        project,
        f"""
        status, body = post("/auth/code/request", {{"phone": "{HEADLESS_NUMBER}"}})
        seen.append([status, pending(body)])
        status, body = post("/auth/code/confirm", {{"code": code_for("{HEADLESS_NUMBER}")}})
        seen.append([status, body["meta"]["is_authenticated"], body["data"]["user"]["username"]])
        """,
    )
    assert logged == [[401, ["login_by_code"]], [200, True, "an"]]
    assert_calls_placed(project, HEADLESS_NUMBER, 2)


def assert_calls_placed(project: Project, number: str, count: int) -> None:
    """Every call of ``number`` went through the sandbox (the provider's id) and was answered."""
    calls = project.shell(
        "import json\n"
        "from django_voiceotp.models import Call\n"
        f"calls = Call.objects.filter(phone_number='{number}')\n"
        "print(json.dumps(list(calls.values_list('status', 'provider_call_id'))))"
    )
    placed = json.loads(calls)
    assert len(placed) == count
    assert all(status != "pending" and provider_call_id for status, provider_call_id in placed)


def test_the_page_is_valid_restructuredtext():
    # Any warning (a broken directive, a bad title underline) is an error here.
    docutils.core.publish_doctree(
        PAGE.read_text(), settings_overrides={"halt_level": 2, "report_level": 2}
    )
