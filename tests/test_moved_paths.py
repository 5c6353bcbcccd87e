"""Old import paths of moved names: each still gives the same object, with a DeprecationWarning,
and the package's own modules no longer import from them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import django_voiceotp
from django_voiceotp import (
    admin,
    api_views,
    callbacks,
    limits,
    reports,
    services,
    throttling,
    views,
)

PACKAGE = Path(django_voiceotp.__file__).resolve().parent

#: Modules that only serve names which moved out of them.
OLD_MODULES = (api_views, reports, services, throttling, views)


def new_place(name: str, target: str) -> tuple[str, str]:
    """A shim's MOVED entry: "new.module" (the same name there) or "new.module:new_name"."""
    module, _, new_name = target.partition(":")
    return module, new_name or name


#: (old module, old name, new module, new name) for every name that moved and warns at its old
#: path, the admin package's helpers included.
DEPRECATED = [
    (shim.__name__, name, *new_place(name, target))
    for shim in (*OLD_MODULES, admin)
    for name, target in shim.MOVED.items()
]

#: Names a package re-exports from its rooms, without a warning: ``limits.admit`` stays the gate.
REEXPORTED = [
    *(("django_voiceotp.limits", name) for name in limits.__all__),
    *(("django_voiceotp.callbacks", name) for name in callbacks.__all__),
]


@pytest.mark.parametrize(("old", "name", "new", "new_name"), DEPRECATED)
def test_an_old_path_gives_the_same_object_with_a_deprecation_warning(old, name, new, new_name):
    module = importlib.import_module(old)
    message = rf"^{old}\.{name} is deprecated: use {new}\.{new_name}\.$"
    with pytest.warns(DeprecationWarning, match=message):
        moved = getattr(module, name)
    assert moved is getattr(importlib.import_module(new), new_name)


@pytest.mark.parametrize("old", [module.__name__ for module in OLD_MODULES])
def test_importing_an_old_module_warns_of_nothing_until_a_name_is_used(old, recwarn):
    importlib.reload(importlib.import_module(old))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize("old", sorted({old for old, *_new in DEPRECATED}))
def test_an_old_module_refuses_a_name_it_never_had(old):
    with pytest.raises(AttributeError):
        importlib.import_module(old).no_such_name  # noqa: B018


def test_from_import_of_an_old_path_warns():
    with pytest.warns(DeprecationWarning, match="limits.clients.client_ip"):
        from django_voiceotp.throttling import client_ip
    from django_voiceotp.limits.clients import client_ip as new_client_ip

    assert client_ip is new_client_ip


@pytest.mark.parametrize("folder", ["django_voiceotp", "example_project", "benchmarks"])
def test_no_module_of_the_project_imports_an_old_path(folder):
    old_paths = {module.__name__ for module in OLD_MODULES}
    for path in (PACKAGE.parent / folder).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.removesuffix(".__init__").split(".")
                    kept = parts[: len(parts) - node.level + 1]
                    base = ".".join(kept + ([base] if base else []))
                imported = {base, *(f"{base}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported = {alias.name for alias in node.names}
            else:
                continue
            assert not imported & old_paths, f"{module} imports {imported & old_paths}"


@pytest.mark.parametrize(("package", "name"), REEXPORTED)
def test_a_package_reexports_its_rooms_names_without_a_warning(package, name, recwarn):
    module = importlib.import_module(package)
    value = getattr(module, name)
    homes = [
        sub
        for sub in vars(module).values()
        if getattr(sub, "__name__", "").startswith(f"{package}.") and hasattr(sub, name)
    ]
    assert homes, f"{package}.{name} is defined in no room of {package}"
    assert all(getattr(home, name) is value for home in homes)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_the_urls_use_the_moved_views():
    from django.urls import resolve

    from django_voiceotp.callbacks.views import CallbackView
    from django_voiceotp.verification_api import VerificationCheckView, VerificationCreateView

    assert resolve("/voiceotp/callbacks/any-token/").func.view_class is CallbackView
    assert resolve("/voiceotp/verifications/").func.view_class is VerificationCreateView
    check = resolve("/voiceotp/verifications/00000000-0000-0000-0000-000000000000/check/")
    assert check.func.view_class is VerificationCheckView
