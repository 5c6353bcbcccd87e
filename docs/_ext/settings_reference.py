"""``.. voiceotp-settings:: SECTION``: the entries of one section of the settings page, rendered
from the settings' declarations (``settings_render``, ``django_voiceotp/conf/definitions.py``)."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from settings_render import render
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import django_voiceotp.conf.definitions


class VoiceOTPSettings(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        source = django_voiceotp.conf.definitions.__file__
        self.env.note_dependency(source)
        container = nodes.section()
        container.document = self.state.document
        lines = StringList(render(self.arguments[0]), source=source)
        nested_parse_with_titles(self.state, lines, container)
        return container.children


def setup(app):
    app.add_directive("voiceotp-settings", VoiceOTPSettings)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
