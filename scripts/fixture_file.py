"""Writing and checking a generated fixture, for the build_*_fixture(s) scripts: `--check`
compares the file with what the script would write now, otherwise the file is replaced
atomically. Imported by the scripts as a sibling module (they run as `python scripts/...`)."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path


def check(output: Path, text: str, generated_by: str, what: str) -> int:
    """0 when `output` holds `text` (saying so with `what`); 1, with the first lines of the diff
    on stderr, when it is missing or out of date."""
    if not output.is_file():
        print(f"{output}: missing; run {generated_by}", file=sys.stderr)
        return 1
    old = output.read_text(encoding="utf-8")
    if old != text:
        diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(output), "regenerated",
                                    lineterm="", n=0)
        sys.stderr.write("\n".join(list(diff)[:40]) + "\n")
        print(f"{output} is out of date; run {generated_by}", file=sys.stderr)
        return 1
    print(f"{output}: up to date ({what})")
    return 0


def write(output: Path, text: str) -> None:
    """Replace `output` with `text` (UTF-8, LF, mode 644) in one rename."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=output.name, dir=output.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, output)
