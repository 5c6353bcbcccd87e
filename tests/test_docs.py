"""The README: short, valid reStructuredText (the package's long description on PyPI), linking
to pages the docs have.

``make docs`` builds the sdist and the wheel and runs ``twine check --strict`` on them; the
settings are documented in docs/settings.rst (tests/test_docs_site.py).
"""

import re
from pathlib import Path

import docutils.core
import docutils.nodes
import docutils.utils

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"
DOCS_URL = "https://django-voiceotp.readthedocs.io/en/latest/"
#: What the README may weigh: what it is, the two commands, the shortest quickstart, links.
MAX_README_BYTES = 12_000


def test_readme_is_valid_restructuredtext():
    problems = []
    doctree = docutils.core.publish_doctree(
        README.read_text(), settings_overrides={"report_level": 5, "halt_level": 5}
    )
    for node in doctree.findall(docutils.nodes.system_message):
        if node["level"] >= docutils.utils.Reporter.WARNING_LEVEL:
            problems.append(node.astext())
    assert problems == []


def test_readme_is_at_most_12_kb():
    assert len(README.read_bytes()) <= MAX_README_BYTES


def test_readme_links_to_pages_the_docs_have():
    linked = re.findall(re.escape(DOCS_URL) + r"([\w/-]+)\.html", README.read_text())
    assert len(linked) >= 10
    assert [page for page in linked if not (ROOT / "docs" / f"{page}.rst").exists()] == []
