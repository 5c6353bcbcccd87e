"""The settings page's entries, rendered from the settings' declarations as reStructuredText.

Plain Python, without Sphinx (``settings_reference.py`` is the directive): the tests render the
page with it too.
"""

from __future__ import annotations

import re
import textwrap

from django_voiceotp.conf import SETTINGS, Setting

#: ``.. voiceotp-settings:: SECTION`` on a line of its own.
DIRECTIVE = re.compile(r"^\.\. voiceotp-settings:: (?P<section>\S+)\n", re.MULTILINE)


def sections() -> list[str]:
    """The sections the settings are declared in, in the declarations' order."""
    return list(dict.fromkeys(setting.section for setting in SETTINGS))


def default(setting: Setting) -> str:
    # Python literals with double quotes, as the project's code writes them.
    return repr(setting.default).replace("'", '"')


def entry(setting: Setting) -> list[str]:
    """One setting as a definition: its name, then its type, default and what it does."""
    text = textwrap.dedent(setting.doc).strip().splitlines()
    return [
        f"``{setting.name}``",
        f"    *{setting.kind}.* Default: ``{default(setting)}``.",
        *(f"    {line}" if line else "" for line in text),
        "",
    ]


def render(section: str) -> list[str]:
    """The entries of one section, in their declared order."""
    if section not in sections():
        raise ValueError(f"No setting is declared in section {section!r}: {sections()}")
    return [line for setting in SETTINGS if setting.section == section for line in entry(setting)]


def expand(page: str) -> str:
    """A page's text with each ``voiceotp-settings`` directive replaced by its entries."""
    return DIRECTIVE.sub(lambda match: "\n".join(render(match["section"])) + "\n", page)
