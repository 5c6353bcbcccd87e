"""The Django and Python versions the package claims (setup.cfg's classifiers) are the ones tox
tests, and CI's second run (make test-django61) is one of them."""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / name)
    return parser


def tox_envs() -> list[str]:
    """tox's envlist with its {a,b} products expanded."""
    envs = []
    for entry in re.split(r",\s*(?![^{]*\})", read("tox.ini")["tox"]["envlist"].strip()):
        parts = re.split(r"(\{[^}]*\})", entry.strip())
        choices = [part[1:-1].split(",") if part.startswith("{") else [part] for part in parts]
        envs += ["".join(product) for product in itertools.product(*choices)]
    return envs


def classifiers(prefix: str) -> set[str]:
    lines = read("setup.cfg")["metadata"]["classifiers"].strip().splitlines()
    return {line.strip().removeprefix(prefix) for line in lines if line.strip().startswith(prefix)}


def dotted(digits: str) -> str:
    return f"{digits[0]}.{digits[1:]}"


def test_tox_tests_each_django_and_python_the_classifiers_claim():
    envs = tox_envs()
    assert "py311-django52" in envs and "py313-django61" in envs
    djangos = {dotted(m[1]) for env in envs if (m := re.search(r"django(\d+)", env))}
    pythons = {dotted(m[1]) for env in envs if (m := re.match(r"py(\d+)", env))}
    assert djangos == classifiers("Framework :: Django :: ") - {""} == {"5.2", "6.0", "6.1"}
    assert pythons == classifiers("Programming Language :: Python :: ") - {"3"}
    # Each Django factor installs its own release series.
    deps = read("tox.ini")["testenv"]["deps"]
    for version in djangos:
        major, minor = version.split(".")
        assert f"django{major}{minor}: Django>={version},<" in deps


def test_ci_runs_the_suite_again_on_django_61():
    makefile = (ROOT / "Makefile").read_text()
    test_target = re.search(r"^test:.*?\n((?:\t.*\n)+)", makefile, re.M)[1]
    assert "test-django61" in test_target
    assert "'Django>=6.1,<6.2'" in makefile
