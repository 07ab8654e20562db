"""Vietnamese text folding, tokenising and regional spelling keys used to match buyers' words to the catalogue."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Longest input we look at. Queries are a few words; a pasted essay is cut rather than scanned in full.
MAX_QUERY_CHARS = 1000

_TONE_MARKS = {"\u0301": 1, "\u0300": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}  # sắc huyền hỏi ngã nặng
_SHAPE_MARKS = {"\u0302", "\u0306", "\u031b"}  # circumflex (â ê ô), breve (ă), horn (ơ ư)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_WORD = re.compile(r"[^\W_]+")
_COMBINING = re.compile(r"[\u0300-\u036f]")


# Format chars (zero-width space and joiners, direction marks and overrides, soft hyphen, BOM) sit inside
# words, so they vanish; control chars, lone surrogates and private-use chars separate words.
_FORMAT = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")


def clean(text: str | None) -> str:
    """Text as written but safe to show and match: NFC, no control/format/zero-width chars, single spaces."""
    if not text:
        return ""
    text = str(text)[: MAX_QUERY_CHARS * 4]
    if not text.isprintable():  # (a printable text has no control, format or private-use char to remove)
        text = _CONTROL.sub(" ", _FORMAT.sub("", text))
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str | None) -> str:
    """Matching form: lowercase, marks removed, đ→d, anything but ASCII letters and digits as single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFD", str(text).lower()).replace("đ", "d")
    # NFD cannot split đ (it is a letter of its own), hence the explicit replace above.
    return _NOT_ALNUM.sub(" ", _COMBINING.sub("", text)).strip()


@lru_cache(maxsize=16384)
def fold_word(word: str) -> str:
    """`fold(word)` for one word as typed, kept: a chat's words recur from message to message, and several layers
    fold each word of a message (the intent's reading, the wholesale triggers, the language's guess)."""
    return fold(word)


def fold_tokens(text: str | None) -> list[str]:
    return fold(text).split()


@lru_cache(maxsize=65536)
def accent_key(word: str) -> str:
    """A spelling of one word that keeps its diacritics but not where the tone mark sits.

    `hòa` and `hoà` (old and new tone placement) give the same key, `mỳ` and `mì` differ, and a word typed
    without marks keys to itself plus tone 0. Used to prefer results whose diacritics agree with the query's.
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = 0
    base: list[str] = []
    for ch in decomposed:
        if ch in _TONE_MARKS:
            tone = _TONE_MARKS[ch]
        elif ch in _SHAPE_MARKS or not unicodedata.combining(ch):
            base.append(ch)
    return unicodedata.normalize("NFC", "".join(base)) + str(tone)


def tone_only(word: str) -> str:
    """The word with its tone mark kept but letter marks dropped (`mặt`→`mạt`, `đồi`→`dồi`).

    Telex typed with the input method off often gets the letter marks wrong (`mawtj` for `mật`) while the
    tone key is deliberate, so decoded words are compared on their tone only.
    """
    decomposed = unicodedata.normalize("NFD", word.lower()).replace("đ", "d")
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _SHAPE_MARKS))


@lru_cache(maxsize=65536)
def has_marks(word: str) -> bool:
    """True when the word carries any Vietnamese diacritic (so its accents say something about intent)."""
    return not word.isascii() and fold(word) != word.lower()


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a query or a catalogue field: as written (lowercase NFC) and folded."""

    raw: str
    folded: str


@lru_cache(maxsize=262144)
def piece_tokens(piece: str) -> tuple[Token, ...]:
    """The tokens of one piece of `word_pieces`: usually one, several when its folding holds several ASCII runs."""
    folded = fold(piece) if not piece.isascii() else _NOT_ALNUM.sub(" ", piece).strip()
    parts = folded.split()
    if len(parts) == 1:
        return (Token(piece, folded),)
    return tuple(Token(p, p) for p in parts)


def word_pieces(text: str | None) -> list[str]:
    """The runs of letters and digits of `text` (cleaned, lowercase, its first MAX_QUERY_CHARS), in order."""
    if isinstance(text, str) and len(text) <= MAX_QUERY_CHARS and text.isprintable():
        # Cleaning a short printable text only normalises it and collapses its spaces, which no piece holds:
        # skipped, a third of the time of a national catalogue's 200,000 names (issue 14).
        lowered = unicodedata.normalize("NFC", text).lower()
        if len(lowered) <= MAX_QUERY_CHARS:
            # Words between single spaces and nothing else (most names): its pieces are the words.
            return lowered.split() if lowered.replace(" ", "").isalnum() else _WORD.findall(lowered)
    return _WORD.findall(clean(text).lower()[:MAX_QUERY_CHARS])


def tokenize(text: str | None) -> list[Token]:
    """Words of `text` in order; a word whose folding holds several ASCII runs (`a中b`) becomes several tokens."""
    return [t for piece in word_pieces(text) for t in piece_tokens(piece)]


# Regional and learner spellings that sound alike in some dialect: l/n (north), s/x and ch/tr (north),
# d/gi/r (north), i/y at the end of a syllable (mỳ/mì), and ngh/gh which learners drop the h from; the
# south's finals (-ng/-n, -c/-t) are kept apart from these (see `sound_key`'s `finals` and `other_final`).
_INITIALS = (("ngh", "ng"), ("gh", "g"), ("tr", "ch"), ("gi", "d"), ("r", "d"), ("s", "x"), ("l", "n"))
_VOWEL_LETTERS = frozenset("aeiouyâêôơăư")
_FINAL_Y = re.compile(r"^([^aeiouyâêôơăư]+)y$")


@lru_cache(maxsize=65536)
def sound_key(folded_word: str, finals: bool = False) -> str:
    """Key under which a folded syllable and its regional misspellings coincide (`tre`→`che`, `nuc`→`nuc`).

    With `finals`, also the south's merged finals, -ng/-n and -c/-t (`chưn` for `chưng`, `cút` for `cúc`):
    so many real words differ only there (`hồn`/`hồng`, `sắt`/`sắc`) that they are merged only where a
    whole phrase or place name vouches for the reading. Also takes a word that keeps its letter marks
    (the base of an `accent_key`): see `sound_accent`.
    """
    word = folded_word
    for written, spoken in _INITIALS:
        if word.startswith(written) and len(word) > len(written):
            word = spoken + word[len(written) :]
            break
    if finals:
        word = _merge_final(word)
    return _FINAL_Y.sub(r"\1i", word)


def _merge_final(word: str) -> str:
    if len(word) > 2 and word.endswith("ng") and word[-3] in _VOWEL_LETTERS:
        return word[:-1]
    if len(word) > 1 and word.endswith("c") and word[-2] in _VOWEL_LETTERS:
        return word[:-1] + "t"
    return word


@lru_cache(maxsize=65536)
def other_final(word: str) -> str | None:
    """The word with the final a southern speaker does not tell apart swapped (`on`→`ong`, `cút`→`cúc`), if any."""
    if len(word) > 2 and word.endswith("ng") and word[-3] in _VOWEL_LETTERS:
        return word[:-1]
    if len(word) > 1 and word[-2] in _VOWEL_LETTERS:
        last = word[-1]
        if last == "n":
            return word + "g"
        if last in "ct":
            return word[:-1] + ("t" if last == "c" else "c")
    return None


@lru_cache(maxsize=65536)
def sound_accent(accent: str, finals: bool = False) -> str:
    """An `accent_key` under the regional spelling rules: `trè`→`chè2`, and with `finals` `chưn`→`chưn0` as
    `chưng`→`chưn0`.

    Marks stay, so a regional spelling of a word still has to carry that word's marks: `sôi` is `xôi`,
    `sợi` (thread) is not. The hỏi and ngã tones, one tone in the centre and south, key alike (`chủ`, `chũ`).
    """
    tone = accent[-1:]
    return sound_key(accent[:-1].replace("đ", "d"), finals) + ("3" if tone == "4" else tone)


@lru_cache(maxsize=262144)
def english_stem(folded_word: str) -> str:
    """Crude plural stripping for English words (`noodles`→`noodle`, `berries`→`berry`).

    Vietnamese syllables never end in `s`, so applying this to every folded word only ever touches
    English (or Telex leftovers, which are decoded before this is consulted).
    """
    w = folded_word
    if len(w) <= 3 or not w.endswith("s") or w.endswith("ss"):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses")):
        return w[:-2]
    return w[:-1]
