"""Every text meant for translation reaches the catalogue: makemessages (xgettext) finds calls by
name only — `_`, `gettext`, `gettext_lazy`, `ngettext`, `pgettext`… — so a translation function
imported under another name (`gettext_lazy as _lazy`) hides its texts, and English pages show
them in Chinese."""

import ast
from pathlib import Path

from django.conf import settings

APPS = ("portal", "ledger", "targets", "inspections", "insurance", "patients", "worklist")


def renamed_translation_imports() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                    found += [f"{path.relative_to(settings.BASE_DIR)}:{node.lineno}: {a.name} as {a.asname}"
                              for a in node.names if a.asname not in (None, "_")]
    return found


def test_translation_functions_keep_names_makemessages_knows():
    assert renamed_translation_imports() == []
