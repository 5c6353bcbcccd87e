"""Sphinx configuration of django-voiceotp's documentation (``make docs``).

The build is offline: no intersphinx inventory is fetched and the theme's assets are packaged
with it. Autodoc imports the app, so Django is configured here with the least a project needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django
from django.conf import settings

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]

settings.configure(
    SECRET_KEY="docs",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "django_voiceotp",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True,
)
django.setup()

import django_voiceotp  # noqa: E402 - the version, once Django is set up

project = "django-voiceotp"
author = "django-voiceotp contributors"
copyright = "django-voiceotp contributors"
release = django_voiceotp.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "openapi_paths",
    "settings_reference",
]

exclude_patterns = ["_build", "README.rst"]
# The Vietnamese page says so itself (``:language:`` is not per page in Sphinx).
language = "en"
html_theme = "furo"
html_title = f"django-voiceotp {release}"
html_static_path: list[str] = []
# Nothing fetched at build time: no intersphinx, no remote images.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}


def describe_model_fields(app, what, name, obj, options, lines):
    """A model's fields, listed under its docstring: autodoc does not see Django's fields."""
    from django.db import models

    if what != "class" or not (isinstance(obj, type) and issubclass(obj, models.Model)):
        return
    if lines and lines[0].startswith(f"{obj.__name__}("):
        lines.clear()  # Django's generated docstring: the field names only
    lines += ["", "Fields:", ""]
    for field in obj._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations
        text = str(getattr(field, "verbose_name", field.name))
        if getattr(field, "help_text", ""):
            text += f": {field.help_text}"
        if getattr(field, "choices", None):
            text += " (" + ", ".join(f"``{json.dumps(value)}``" for value, _ in field.choices) + ")"
        lines.append(f"- ``{field.name}`` ({field.get_internal_type()}): {text}")
    lines.append("")


def hide_model_signature(app, what, name, obj, options, signature, return_annotation):
    """A model's constructor takes its fields as keywords: its signature says nothing more."""
    from django.db import models

    if what == "class" and isinstance(obj, type) and issubclass(obj, models.Model):
        return "", None
    return None


def setup(app):
    app.connect("autodoc-process-docstring", describe_model_fields)
    app.connect("autodoc-process-signature", hide_model_signature)
