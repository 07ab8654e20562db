"""Developer tool for the translation catalogues: extract, update, add translations, check.

    python scripts/i18n.py update                 # extract msgids from the code into locales/*.po
    python scripts/i18n.py translate vi FILE.json # merge {"msgid": "msgstr", ...} into the vi catalogue
    python scripts/i18n.py check                  # list missing, fuzzy and placeholder problems

English msgids are the English text, so `update` fills empty English msgstrs with the msgid.
Every write holds a file lock, so several people can run it at once without losing entries.
"""

from __future__ import annotations

import fcntl
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
SOURCE_DIRS = ("bot", "handlers", "catalog", "locales")
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2), "gettext": None, "ngettext": (1, 2)}
# The staff console's Jinja2 templates (bot/web/templates) call _() and n_() like the Python code.
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)\}(?!\})")


@contextmanager
def locked() -> Iterator[None]:
    with open(LOCALES / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    template = Catalog(project="ocop-bot", msgid_bugs_address="", fuzzy=False)
    for directory in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / directory, method_map=METHODS, keywords=KEYWORDS, strip_comment_tags=True
        ):
            template.add(message, None, [(f"{directory}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, project="ocop-bot", fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale=language)


def write(language: str, catalog: Catalog) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True, include_previous=False)


def update() -> None:
    with locked():
        template = extract()
        with (LOCALES / "messages.pot").open("wb") as fh:
            write_po(fh, template, width=100, sort_output=True)
        for language in ("vi", "en"):
            catalog = read(language)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            if language == "en":
                for message in catalog:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    if message.id and not all(strings):
                        message.string = message.id
            write(language, catalog)


def translate(language: str, source: Path) -> None:
    entries: dict[str, str | list[str]] = json.loads(source.read_text(encoding="utf-8"))
    with locked():
        catalog = read(language)
        for msgid, msgstr in entries.items():
            message = catalog.get(msgid)
            if message is None:
                print(f"not in the catalogue (run update first?): {msgid!r}", file=sys.stderr)
                continue
            message.string = tuple(msgstr) if isinstance(msgstr, list) else msgstr
            message.flags.discard("fuzzy")
        write(language, catalog)


def problems() -> list[str]:
    """Missing, fuzzy or placeholder-mismatched translations, checked against the code itself."""
    found = []
    template = extract()
    for language in ("vi", "en"):
        catalog = read(language)
        for source in template:
            if not source.id:
                continue
            message = catalog.get(source.id)
            ids = source.id if isinstance(source.id, tuple) else (source.id,)
            if message is None:
                found.append(f"{language}: missing {ids[0]!r}")
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{language}: untranslated {ids[0]!r}")
            if message.fuzzy:
                found.append(f"{language}: fuzzy {ids[0]!r}")
            wanted = set(PLACEHOLDER.findall(" ".join(ids)))
            for text in strings:
                if text and set(PLACEHOLDER.findall(text)) != wanted:
                    found.append(f"{language}: placeholders differ in {ids[0]!r}: {text!r}")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
    elif argv[:1] == ["translate"] and len(argv) == 3:
        translate(argv[1], Path(argv[2]))
    elif argv[:1] == ["check"]:
        issues = problems()
        print("\n".join(issues) or "all translations present")
        return 1 if issues else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
