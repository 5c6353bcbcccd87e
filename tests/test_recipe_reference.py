"""The reference page's provider snippet, run as pasted in a Django shell against the sandbox."""

from __future__ import annotations

import pytest

from django_voiceotp.provider_reports import CallOutcome

from .recipes import DOCS, marked_blocks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_provider_snippet_places_a_call_and_reads_its_report(sandbox):
    [block] = marked_blocks((DOCS / "reference.rst").read_text())
    namespace: dict = {}
    exec(block.code, namespace)  # noqa: S102 - the page's own code, as a shell would run it
    assert namespace["started"].call_id == sandbox.calls[0].call_id
    assert sandbox.calls[0].otp == "482915"
    assert namespace["report"].outcome in (CallOutcome.IN_PROGRESS, CallOutcome.SUCCESS)
