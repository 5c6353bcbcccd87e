"""The README: valid reStructuredText (the package's long description), naming every setting."""

from pathlib import Path

import docutils.core
import docutils.nodes
import docutils.utils

from django_voiceotp.conf import DEFAULTS

README = Path(__file__).resolve().parent.parent / "README.rst"


def test_readme_is_valid_restructuredtext():
    problems = []
    doctree = docutils.core.publish_doctree(
        README.read_text(), settings_overrides={"report_level": 5, "halt_level": 5}
    )
    for node in doctree.findall(docutils.nodes.system_message):
        if node["level"] >= docutils.utils.Reporter.WARNING_LEVEL:
            problems.append(node.astext())
    assert problems == []


def test_every_setting_is_documented():
    text = README.read_text()
    assert [key for key in DEFAULTS if f"``{key}``" not in text] == []
