"""``.. openapi-paths:: PATH``: an OpenAPI document rendered into the page (``openapi_render``)."""

from __future__ import annotations

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from openapi_render import Renderer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


class OpenAPIPaths(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        relative, path = self.env.relfn2path(self.arguments[0])
        self.env.note_dependency(relative)
        with open(path, encoding="utf-8") as file:
            document = yaml.safe_load(file)
        container = nodes.section()
        container.document = self.state.document
        lines = StringList(Renderer(document).render(), source=path)
        nested_parse_with_titles(self.state, lines, container)
        return container.children


def setup(app):
    app.add_directive("openapi-paths", OpenAPIPaths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
