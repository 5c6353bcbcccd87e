"""The Vietnamese quickstart (docs/vi/quickstart.rst): run as the English one is, and in step.

Its prose and code comments are Vietnamese; its code is the English page's, block for block, so
a change to one page that the other misses fails here before a reader meets it.
"""

from __future__ import annotations

import re

from .recipes import DOCS, marked_blocks
from .test_docs_site import run_quickstart_page

PAGE = DOCS / "vi" / "quickstart.rst"
ENGLISH = DOCS / "quickstart.rst"


def without_comments(code: str) -> list[str]:
    """The code's lines, less its comments and blank lines (no block has a ``#`` in a string)."""
    lines = (re.sub(r"\s*#.*$", "", line) for line in code.splitlines())
    return [line for line in lines if line.strip()]


def runnable(page):
    return [
        (block.action, block.path, without_comments(block.code))
        for block in marked_blocks(page.read_text())
        if block.action != "not-run"
    ]


def test_the_code_is_the_english_pages_block_for_block():
    assert runnable(PAGE) == runnable(ENGLISH)
    not_run = [block.code for block in marked_blocks(PAGE.read_text()) if block.action == "not-run"]
    english = [
        block.code for block in marked_blocks(ENGLISH.read_text()) if block.action == "not-run"
    ]
    assert not_run == english


#: A letter only Vietnamese of the two languages has (a, e, o, u, y with their marks; đ).
VIETNAMESE_LETTER = re.compile(
    "[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]"
)


def test_the_comments_are_in_vietnamese():
    comments = [
        line.split("#", 1)[1].strip()
        for block in marked_blocks(PAGE.read_text())
        for line in block.code.splitlines()
        if "#" in line
    ]
    # A comment that only names the file is the same in both languages.
    prose = [comment for comment in comments if not re.fullmatch(r"mysite/\S+", comment)]
    assert len(prose) > 10
    assert [comment for comment in prose if not VIETNAMESE_LETTER.search(comment)] == []


def test_the_vietnamese_quickstart_works_as_written(tmp_path):
    run_quickstart_page(PAGE, tmp_path)
