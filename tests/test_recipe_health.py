"""docs/integrations/health.rst, built as a new user would: the quickstart, then the page's blocks.

The endpoint is probed over real HTTP as monitors probe it: with curl's ``Accept: */*``, with no
``Accept`` (Kubernetes, load balancers) and with a browser's. Healthy, it answers 200 to each;
with the provider unreachable, django-health-check's failure status (500) and the reason.
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

import pytest

from .recipes import (
    DOCS,
    Project,
    build_after_quickstart,
    free_port,
    marked_blocks,
    unmarked_blocks,
)

PAGE = DOCS / "integrations" / "health.rst"
ENDPOINT = "/health/voiceotp/"
ACCEPTS = {
    "curl": "*/*",
    "none": None,
    "browser": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


def probe(project: Project, accept: str | None, query: str = "") -> tuple[int, str, str]:
    """Status, content type and body of a GET of the endpoint, as urllib sends it (no Accept
    unless given)."""
    request = urllib.request.Request(f"http://{project.address}{ENDPOINT}{query}")
    if accept is not None:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = build_after_quickstart(tmp_path_factory.mktemp("health"), PAGE)
    yield built
    built.stop()


def test_every_block_of_the_page_is_marked():
    text = PAGE.read_text()
    assert unmarked_blocks(text) == []
    actions = [(block.action, block.path) for block in marked_blocks(text)]
    assert ("append", "mysite/settings.py") in actions
    assert ("append", "mysite/urls.py") in actions
    assert ("command", None) in actions


@pytest.mark.parametrize("accept", ACCEPTS.values(), ids=ACCEPTS.keys())
def test_healthy_it_answers_200_whatever_the_accept_header(project, accept):
    project.wait_until_serving(ENDPOINT)
    status, content_type, body = probe(project, accept)
    assert (status, content_type) == (200, "text/html; charset=utf-8"), body[:500]
    assert "TemplateDoesNotExist" not in body
    for check in ("Provider", "Sweeper", "Backlog", "Spending"):
        assert check in body


def test_healthy_the_findings_are_ok_as_json(project):
    project.wait_until_serving(ENDPOINT)
    status, _, body = probe(project, "application/json")
    assert status == 200
    assert json.loads(body) == {
        "Provider()": "OK",
        "Sweeper()": "OK",
        "Backlog()": "OK",
        "Spending()": "OK",
    }


def serve_variant(project: Project, name: str, settings: str) -> Project:
    """The same project served by a second process with ``settings`` added to its own, and a
    cache table of its own, so the first's remembered answers do not stand for it."""
    (project.root / "mysite" / f"{name}.py").write_text(
        "from mysite.settings import *  # noqa: F403\n\n"
        + settings
        + f'CACHES = {{**CACHES, "voiceotp": {{**CACHES["voiceotp"], "LOCATION": "{name}"}}}}\n'
    )
    env = {"DJANGO_SETTINGS_MODULE": f"mysite.{name}"}
    project.manage("createcachetable", env=env)
    project.manage("voiceotp_sweep", env=env)  # the sweeper is on time
    variant = copy.copy(project)  # the same folder, a server of its own
    variant.port = free_port()
    variant.address = f"127.0.0.1:{variant.port}"
    variant.server = None
    variant.start_server(env=env)
    variant.wait_until_serving(ENDPOINT)
    return variant


@pytest.fixture(scope="module")
def unreachable(project):
    """The same project, served by a second process whose provider address nothing listens on."""
    closed_port = free_port()
    down = serve_variant(
        project,
        "unreachable",
        f'VOICEOTP = {{**VOICEOTP, "API_URL": "http://127.0.0.1:{closed_port}/"}}\n',
    )
    yield down
    down.stop()


@pytest.mark.parametrize("accept", ACCEPTS.values(), ids=ACCEPTS.keys())
def test_with_the_provider_unreachable_it_answers_the_failure_status(unreachable, accept):
    status, content_type, body = probe(unreachable, accept)
    assert (status, content_type) == (500, "text/html; charset=utf-8"), body[:500]
    assert "TemplateDoesNotExist" not in body
    assert "Could not reach the provider" in body


def test_with_the_provider_unreachable_the_finding_says_why(unreachable):
    status, _, body = probe(unreachable, None, "?format=json")
    assert status == 500
    findings = json.loads(body)
    assert findings["Provider()"].startswith("Unavailable: Could not reach the provider")
    assert (findings["Sweeper()"], findings["Backlog()"]) == ("OK", "OK")


@pytest.fixture(scope="module")
def spent(project):
    """The same project with a site budget of one call an hour, served by a second process."""
    served = serve_variant(project, "spent", 'VOICEOTP = {**VOICEOTP, "SENDS_PER_HOUR": 1}\n')
    yield served
    served.stop()


def test_with_the_site_budget_used_up_it_answers_the_failure_status(spent):
    status, _, body = probe(spent, None, "?format=json")
    assert (status, json.loads(body)["Spending()"]) == (200, "OK")

    def ask_for_a_code(phone_number: str) -> int:
        request = urllib.request.Request(
            f"http://{spent.address}/voiceotp/verifications/",
            data=json.dumps({"phone_number": phone_number}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    assert [ask_for_a_code("0771122331"), ask_for_a_code("0771122332")] == [201, 429]
    status, _, body = probe(spent, None, "?format=json")
    assert status == 500
    assert json.loads(body)["Spending()"].startswith("Unavailable: site budget reached: site_hour")
