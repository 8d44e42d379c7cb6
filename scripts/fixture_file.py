"""The command line, rendering, writing and checking of a generated fixture, for the
build_*_fixture(s) scripts: `--check` compares the file with what the script would write now,
otherwise the file is replaced atomically. Imported by the scripts as a sibling module (they run
as `python scripts/...`)."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent


class BuildError(Exception):
    """A source the build refuses; the script says so and exits 2."""


def refuse_if_any(errors: list[str]) -> None:
    """Stop the build with every failed check listed, so one run shows them all."""
    if errors:
        raise BuildError("validation failed:\n  " + "\n  ".join(errors))


class Built(NamedTuple):
    text: str  # the fixture's content
    checked: str  # what `--check` says the fixture is up to date with
    written: str  # printed straight after "wrote <output>"


def render(source: dict, key: str, entries: list[dict]) -> str:
    """`{"source": …, key: [...]}` with one entry a line, so a diff of the fixture reads as
    the entries that changed."""

    def dumps(obj: object) -> str:
        return json.dumps(obj, ensure_ascii=False)

    lines = [f'{{"source": {dumps(source)}, "{key}": [']
    lines += [dumps(e) + ("," if i < len(entries) - 1 else "") for i, e in enumerate(entries)]
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None, *, doc: str, default_output: Path, generated_by: str,
         build: Callable[[], Built]) -> int:
    """`script [--check] [--output PATH]`: rebuild, then verify or (re)write the fixture;
    2 when the build fails."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="rebuild in memory and fail if OUTPUT differs")
    ap.add_argument("--output", type=Path, default=default_output,
                    help=f"fixture path (default: {default_output.relative_to(REPO_ROOT)})")
    args = ap.parse_args(argv)

    try:
        built = build()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return check(args.output, built.text, generated_by, built.checked)
    write(args.output, built.text)
    print(f"wrote {args.output}{built.written}")
    return 0


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
