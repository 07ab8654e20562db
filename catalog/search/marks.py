"""How the marks a buyer typed fit the marks a word is written with (tones and letter marks)."""

from __future__ import annotations

from catalog.text import fold

LETTER_MARKS = frozenset("âêôơăưđ")

TONE_CLASS = {"4": "3"}  # hỏi and ngã are one tone in the centre and south


def marks_fit(
    marked: list[str | None], i: int, written: tuple[str | None, ...], tones_only: bool = False
) -> bool:
    """Do the marks typed on tokens i.. fit a written phrase's? Unmarked on either side always fits."""
    for k, want in enumerate(written):
        got = marked[i + k] if i + k < len(marked) else None
        if got is None or want is None:
            continue
        if tones_only:
            if got[-1] != "0" and got[-1] != want[-1]:
                return False
        elif not accent_fits(got, want):
            return False
    return True


def accent_fits(typed: str, written: str) -> bool:
    """Typed marks fit written ones when the letters agree and so does the tone.

    A word typed with letter marks but no tone (`đinh`) is taken as toneless, as written with an input
    method; letters typed plain with a tone (`ruou` + nặng, from Telex) are compared on the plain letters,
    tone included; plain letters with no tone fit any tone.
    """
    base = typed[:-1]
    if base == written[:-1]:
        return typed[-1] == written[-1] or (typed[-1] == "0" and base.isascii())
    return base.isascii() and base == fold(written[:-1]) and typed[-1] in ("0", written[-1])


def marks_are(typed: list[str | None], written: tuple[str | None, ...]) -> bool:
    """Are the marks typed (where any were) exactly the phrase's?"""
    return all(t is None or t == w for t, w in zip(typed, written, strict=True))


def same_marks(typed: str, written: str) -> bool:
    """Are two accent keys marked alike (same tone; same letter marks, when the buyer typed any)?"""
    if typed[-1] != written[-1]:
        return False
    letters = typed[:-1]
    if letters.isascii():  # decoded Telex: only the tone was meant
        return True
    return sorted(c for c in letters if c in LETTER_MARKS) == sorted(
        c for c in written[:-1] if c in LETTER_MARKS
    )
