"""The documentation site (docs/): every setting documented, every recipe marked and run.

``make docs`` builds the site with warnings as errors and the network shut (docs/build.py), and
checks README.rst as PyPI renders it; these tests hold what a build cannot see, with the ``test``
extra alone (no Sphinx):
that the settings page, rendered from the settings' declarations, names every key of ``DEFAULTS``
with its real default and its check, that a page with
recipes marks each of its blocks, that the HTTP API page renders every operation of
``openapi.yaml``, and that the quickstart builds and runs a new project as written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from django_voiceotp.callbacks import CALLBACK_FINAL_GRACE_MAX
from django_voiceotp.conf import DEFAULTS, SETTINGS

from .recipes import DOCS, Project, marked_blocks, unmarked_blocks

SETTINGS_PAGE = DOCS / "settings.rst"
#: A settings entry: the key as a definition term, its text indented below it.
SETTING_ENTRY = re.compile(r"^``(?P<key>[A-Z_]+)``\n(?P<text>(?:    .*\n|\n)+)", re.MULTILINE)


def documented_settings(text: str) -> dict[str, str]:
    """Each documented key, with its entry's text on one line."""
    return {match["key"]: " ".join(match["text"].split()) for match in SETTING_ENTRY.finditer(text)}


def undocumented(keys, text: str) -> list[str]:
    documented = documented_settings(text)
    return [key for key in keys if key not in documented]


def load_extension(name: str):
    """A module of docs/_ext that is plain Python (the Sphinx directives import it)."""
    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings_page() -> str:
    """docs/settings.rst as the site shows it: each section's entries rendered in."""
    return load_extension("settings_render").expand(SETTINGS_PAGE.read_text())


def test_every_setting_is_documented():
    assert undocumented(DEFAULTS, settings_page()) == []


def test_a_setting_missing_from_the_page_is_found():
    keys = {**DEFAULTS, "NEW_SETTING": 1}
    assert undocumented(keys, settings_page()) == ["NEW_SETTING"]
    # One removed entry is missed too.
    text = settings_page().replace("``REDIAL_DELAY``\n", "REDIAL_DELAY\n")
    assert undocumented(DEFAULTS, text) == ["REDIAL_DELAY"]


def test_the_page_renders_each_section_of_the_declarations_once_in_order():
    render = load_extension("settings_render")
    used = render.DIRECTIVE.findall(SETTINGS_PAGE.read_text())
    assert used == render.sections()
    with pytest.raises(ValueError, match="'nowhere'"):
        render.render("nowhere")


def test_every_setting_states_its_real_default_and_its_check():
    entries = documented_settings(settings_page())
    wrong = []
    for key, default in DEFAULTS.items():
        # The page writes Python literals with double quotes, as the project's code does.
        stated = f"Default: ``{repr(default).replace(chr(39), chr(34))}``."
        text = entries.get(key, "")
        if stated not in text or not re.search(r"Checks?: ``[EWI]\d{3}``|No check", text):
            wrong.append(key)
    assert wrong == []
    assert list(entries) == list(DEFAULTS), "the page lists the keys in DEFAULTS' order"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_each_entry_names_the_check_its_declaration_answers_with(setting):
    entry = documented_settings(settings_page())[setting.name]
    assert f"``{setting.check_id}``" in entry
    if setting.required:
        assert "``E002``" in entry


def test_the_final_grace_bound_is_the_one_the_callback_door_applies():
    [final_grace] = [setting for setting in SETTINGS if setting.name == "CALLBACK_FINAL_GRACE"]
    assert f"from 0 to {CALLBACK_FINAL_GRACE_MAX} (30 days)" in final_grace.expected
    assert f"({CALLBACK_FINAL_GRACE_MAX})" in documented_settings(settings_page())[final_grace.name]


def recipe_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.rst") if ".. recipe: " in path.read_text())


def test_the_quickstarts_are_recipe_pages():
    pages = [path.relative_to(DOCS).as_posix() for path in recipe_pages()]
    assert {"quickstart.rst", "vi/quickstart.rst"} <= set(pages)


@pytest.mark.parametrize("page", recipe_pages(), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_a_recipe_page_marks_every_block(page):
    # Marked to be run, or marked not-run with the reason: never silently left out.
    assert unmarked_blocks(page.read_text()) == []
    for block in marked_blocks(page.read_text()):
        if block.action == "not-run":
            assert block.path, f"line {block.line}: a not-run block says why"


def openapi_render():
    """docs/_ext/openapi_render.py: plain Python (the Sphinx directive is openapi_paths.py)."""
    return load_extension("openapi_render")


def test_the_api_page_renders_every_operation_and_schema():
    Renderer = openapi_render().Renderer
    document = yaml.safe_load((DOCS.parent / "django_voiceotp" / "openapi.yaml").read_text())
    rendered = Renderer(document).render()
    titles = {line for line in rendered if line and not line.startswith((" ", "-", "*"))}
    for path, item in document["paths"].items():
        for method in ("get", "put", "post", "patch", "delete"):
            if method in item:
                assert f"{method.upper()} {path}" in titles
                for status in item[method]["responses"]:
                    assert any(line.startswith(f"- **{status}**") for line in rendered)
    for name in document["components"]["schemas"]:
        assert f".. _openapi-schema-{name.lower()}:" in rendered
    assert ".. openapi-paths:: ../django_voiceotp/openapi.yaml" in (DOCS / "api.rst").read_text()


def test_the_api_page_escapes_markup_outside_code():
    # A description's */* or name_ would be emphasis or a reference: a warning, a failed build.
    inline = openapi_render().inline
    assert inline("Accept: */* and call_id_ |x|\n`code_*`") == (
        "Accept: \\*/\\* and call\\_id\\_ \\|x\\| ``code_*``"
    )


# -- the quickstart, built and run as written --------------------------------------------------


def quickstart_project(root: Path, text: str, mark: str = "recipe") -> Project:
    """A ``startproject`` project with the files of ``text``'s marked blocks written in."""
    # A user's shell with the virtualenv active: ``python`` is this one.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    project = Project(root, env={"PATH": path})
    project.apply(marked_blocks(text, mark=mark))
    return project


def run_quickstart(project: Project) -> None:
    """Run a quickstart's recipes in order: ``check``, the commands (the server started after the
    first, ``migrate``, as the page says), then the shell sessions. The one change to the page's
    text is the server's port. The server is left running for the caller to stop."""
    checked = project.manage("check")
    assert "django_voiceotp.W003" not in checked.stdout + checked.stderr

    migrate, *commands = project.codes("command")
    assert migrate.strip() == "python manage.py migrate"
    project.run("sh", "-c", migrate)
    project.start_server()
    project.wait_until_serving()
    outputs = [project.run("sh", "-c", command).stdout for command in commands]
    assert any(
        "✓ Celery: eager" in out and "✓ provider: access token obtained" in out for out in outputs
    ), outputs

    verified, sent = (project.shell(code) for code in project.codes("shell"))
    assert verified.strip() == "True"
    assert sent.strip() == "pending"

    # Both calls went through the sandbox: none left pending, each has the provider's id.
    calls = project.shell(
        "import json\n"
        "from django_voiceotp.models import Call\n"
        "print(json.dumps(list(Call.objects.values_list('status', 'provider_call_id'))))"
    )
    placed = json.loads(calls)
    assert len(placed) == 2
    assert all(status != "pending" and provider_call_id for status, provider_call_id in placed)


def run_quickstart_page(page: Path, root: Path) -> None:
    project = quickstart_project(root, page.read_text())
    try:
        run_quickstart(project)
    finally:
        project.stop()


def test_the_quickstart_works_as_written(tmp_path):
    run_quickstart_page(DOCS / "quickstart.rst", tmp_path)
