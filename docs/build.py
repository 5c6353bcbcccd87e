"""``make docs``: the Sphinx build, with warnings as errors and the network shut.

Any connection the build tries (an intersphinx inventory, a remote image) fails it, and so does a
page that would load a script or a stylesheet from elsewhere: the site builds, and reads, offline.
Arguments are sphinx-build's.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

from sphinx.cmd.build import main

#: A script or stylesheet from another host (a CDN), in a built page.
REMOTE_ASSET = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.IGNORECASE)


def refuse(*args, **kwargs):
    raise OSError("the docs build tried to reach the network")


def main_offline(argv: list[str]) -> int:
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    status = main(argv)
    if status:
        return status
    output = Path(argv[-1])
    remote = [
        str(page)
        for page in sorted(output.rglob("*.html"))
        if REMOTE_ASSET.search(page.read_text())
    ]
    if remote:
        print("Pages that load a script or stylesheet from elsewhere:", *remote, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main_offline(sys.argv[1:]))
