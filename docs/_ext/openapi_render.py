"""An OpenAPI document's paths and schemas as reST lines (``openapi_paths``'s directive).

A small renderer of our own, offline and without a third-party extension: each operation becomes
a section (method and path, summary, description, parameters, request body, responses), and each
schema of ``components`` a section that operations link to. Descriptions are Markdown in the
document; only their inline code (single backticks) is turned into reST, which is all they use,
and the rest is escaped.
"""

from __future__ import annotations

import re
from typing import Any

METHODS = ("get", "put", "post", "patch", "delete")
INLINE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")


#: Characters that mean markup in reST text, escaped outside code: a description's ``*/*`` or
#: ``name_`` must not become emphasis or a reference (and a warning, which fails the build).
RST_SPECIAL = re.compile(r"([\\*_|`])")


def escape(text: str) -> str:
    return RST_SPECIAL.sub(r"\\\1", text)


def inline(text: str | None) -> str:
    """Markdown text on one line as reST: its inline code as reST's, the rest escaped."""
    parts = INLINE_CODE.split(" ".join((text or "").split()))
    # split() with a group alternates text and code: even indexes are text.
    return "".join(f"``{part}``" if index % 2 else escape(part) for index, part in enumerate(parts))


def title(text: str, underline: str) -> list[str]:
    return [text, underline * len(text), ""]


class Renderer:
    def __init__(self, document: dict[str, Any]):
        self.document = document

    def resolve(self, item: dict[str, Any]) -> dict[str, Any]:
        """The object a local ``$ref`` names (``#/components/...``), or the item itself."""
        while "$ref" in item:
            target: Any = self.document
            for part in item["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            item = target
        return item

    def schema_ref(self, schema: dict[str, Any]) -> str:
        """One line naming a schema: a link to its section, or its inline type."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return f":ref:`{name} <openapi-schema-{name.lower()}>`"
        for combiner, word in (("anyOf", "any of"), ("oneOf", "one of"), ("allOf", "all of")):
            if combiner in schema:
                return f"{word}: " + ", ".join(self.schema_ref(part) for part in schema[combiner])
        kind = schema.get("type", "any")
        kinds = kind if isinstance(kind, list) else [kind]
        text = " or ".join(str(each) for each in kinds)
        if "format" in schema:
            text += f" ({schema['format']})"
        if "items" in schema:
            text += " of " + self.schema_ref(schema["items"])
        if "enum" in schema:
            values = ", ".join(f"``{self.literal(value)}``" for value in schema["enum"])
            text += f", one of {values}"
        if "pattern" in schema:
            text += f", matching ``{schema['pattern']}``"
        if "maxLength" in schema:
            text += f", at most {schema['maxLength']} characters"
        return text

    @staticmethod
    def literal(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def content(self, body: dict[str, Any], indent: str) -> list[str]:
        lines = []
        for media_type, media in (body.get("content") or {}).items():
            schema = media.get("schema", {})
            lines.append(f"{indent}``{media_type}``: {self.schema_ref(schema)}")
        return lines

    def operation(self, path: str, method: str, item: dict[str, Any], shared: list) -> list[str]:
        operation = item[method]
        lines = title(f"{method.upper()} {escape(path)}", "~")
        if operation.get("summary"):
            lines += [inline(operation["summary"]), ""]
        if operation.get("description"):
            lines += [inline(operation["description"]), ""]
        parameters = [self.resolve(each) for each in shared + operation.get("parameters", [])]
        if parameters:
            lines += ["Parameters:", ""]
            for parameter in parameters:
                required = ", required" if parameter.get("required") else ""
                described = parameter.get("description")
                described = f": {inline(described)}" if described else ""
                lines.append(
                    f"- ``{parameter['name']}`` ({parameter['in']}{required}, "
                    f"{self.schema_ref(parameter.get('schema', {}))}){described}"
                )
            lines.append("")
        if "requestBody" in operation:
            body = self.resolve(operation["requestBody"])
            required = " (required)" if body.get("required") else ""
            lines += [f"Request body{required}:", "", *self.content(body, "- "), ""]
        lines += ["Responses:", ""]
        for status, response in operation.get("responses", {}).items():
            response = self.resolve(response)
            lines.append(f"- **{status}**: {inline(response.get('description'))}")
            for header, spec in (response.get("headers") or {}).items():
                spec = self.resolve(spec)
                lines.append(f"  Header ``{header}``: {inline(spec.get('description'))}")
            lines += ["", *self.content(response, "  - "), ""]
        return lines

    def schema(self, name: str, schema: dict[str, Any]) -> list[str]:
        lines = [f".. _openapi-schema-{name.lower()}:", "", *title(name, "~")]
        if schema.get("description"):
            lines += [inline(schema["description"]), ""]
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        if properties:
            for prop, spec in properties.items():
                flag = ", required" if prop in required else ""
                described = f": {inline(spec['description'])}" if "description" in spec else ""
                example = f" Example: ``{spec['example']}``." if "example" in spec else ""
                lines.append(f"- ``{prop}`` ({self.schema_ref(spec)}{flag}){described}{example}")
            lines.append("")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            lines += [f"Any other key: {self.schema_ref(extra)}.", ""]
        elif extra is False and properties:
            lines += ["No other key.", ""]
        return lines

    def render(self) -> list[str]:
        info = self.document.get("info", {})
        lines = [inline(paragraph) for paragraph in (info.get("description") or "").split("\n\n")]
        lines = [line for paragraph in lines for line in (paragraph, "")]
        lines += title("Operations", "-")
        for path, item in self.document.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    lines += self.operation(path, method, item, item.get("parameters", []))
        schemas = self.document.get("components", {}).get("schemas", {})
        if schemas:
            lines += title("Schemas", "-")
            for name, schema in schemas.items():
                lines += self.schema(name, schema)
        return lines
