"""tox's inline plugin: find the interpreters pyenv installed, whichever versions they are.

pyenv's shims answer ``python3.12`` only for the versions that ``PYENV_VERSION`` (or a
``.python-version`` file) names, so tox would find no Python 3.12 or 3.13 on a machine that has
them. With pyenv present and ``PYENV_VERSION`` unset, every installed version is made visible;
without pyenv nothing changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from tox.plugin import impl


@impl
def tox_add_core_config(core_conf, state) -> None:
    pyenv = shutil.which("pyenv")
    if pyenv is None or os.environ.get("PYENV_VERSION"):
        return
    listed = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    if listed:
        os.environ["PYENV_VERSION"] = ":".join(listed)
