"""Words of the Vietnamese language that begin with a product's kind word and name something else.

Vietnamese names a kind of thing by a head word and what follows it: "măng tre" is a bamboo shoot, but
"măng cụt" is a mangosteen, "nấm hương" a shiitake, "dầu lạc" peanut oil, "bánh cuốn" a rice roll. A
buyer who names such a word asks for that thing, not for whatever product shares its first syllable
("măng" → the bamboo shoots; "nấm" → the straw mushrooms). No lexicon written by the team can list them
all, so they come from a dictionary of the language: Hồ Ngọc Đức's word list (74,000 entries) as shipped
by `underthesea` (Apache-2.0), read as a data file.

Of its words, those that matter here begin with the first word of some product's name (the kind word,
with the marks it is written with there), name no product (no product has their words side by side), and
whose other words are not chat the lexicon knows ("rượu ngon" is good wine, not another drink).
"""

from __future__ import annotations

import importlib.util
import logging
import re
import unicodedata
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from catalog.lexicon import Key
from catalog.text import accent_key, fold

log = logging.getLogger(__name__)


def underthesea_file(*parts: str) -> Path | None:
    """A data file of the installed `underthesea` (located without importing the package, which would load its
    models), or None when it is not there."""
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def dictionary_path() -> Path | None:
    """Where `underthesea` keeps the word list, or None."""
    return underthesea_file("corpus", "data", "Viet74K.txt")


# A word of two or three syllables, folded: one line of the list. (Longer entries are sayings, "rượu vào lời ra",
# not names of things.)
_WORD = re.compile(r"^([a-z]+) ([a-z]+)(?: ([a-z]+))?$", re.MULTILINE)


def dictionary_words(keep: Callable[[Key], bool] | None = None) -> list[tuple[str, Key]]:
    """The dictionary's words of two or three syllables whose key (folded, as `phrase_key` makes it) passes `keep`:
    each lower-cased and NFC-normalised, with its key. About 54,000 in all; read for each index built and let go.

    (The list is folded as one text, which keeps its length letter for letter, and only the words kept become
    objects: 54,000 small strings alive at once would leave the process some 25 MB larger for good.)"""
    path = dictionary_path()
    if path is None:
        log.warning("the Vietnamese word list (underthesea) is missing: compound words go unrecognised")
        return []
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8").lower())
    folded = text.translate({ord(c): (fold(c) or " ")[:1] for c in set(text) if c != "\n"})
    words = []
    for m in _WORD.finditer(folded):
        key = m.groups() if m.group(3) else m.groups()[:2]
        word = text[m.start() : m.end()]
        if (keep is None or keep(key)) and word.count(" ") == len(key) - 1:  # (not "a-la": other characters)
            words.append((word, key))
    return words


@cache
def spoken_words() -> array:
    """Every word of two or three syllables in the dictionary, as a 32-bit CRC of its folded form ("oc van") and one of
    its form with marks, as accent keys ("ôc1 văn5"): about 100,000 numbers, sorted, in 400 kB (as strings they would
    keep some 10 MB alive, and double a stored index). Looked up only for a few words of a message (`is_spoken`), a
    text that is no word passes for one about once in 40,000 lookups. (Read once a process: every index shares it.)"""
    path = dictionary_path()
    if path is None:
        return array("I")
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8").lower())
    folded = text.translate({ord(c): (fold(c) or " ")[:1] for c in set(text) if c != "\n"})
    spelt: dict[str, str] = {}
    crcs = set()
    for m in _WORD.finditer(folded):
        syllables = text[m.start() : m.end()].split()
        if len(syllables) == (3 if m.group(3) else 2):
            marked = " ".join(spelt.get(s) or spelt.setdefault(s, accent_key(s)) for s in syllables)
            crcs.add(zlib.crc32(marked.encode()))
            crcs.add(zlib.crc32(m.group().encode()))
    return array("I", sorted(crcs))


def is_spoken(words: array, text: str) -> bool:
    """Is `text` (folded, or accent keys) a word of `spoken_words`?"""
    crc = zlib.crc32(text.encode())
    at = bisect_left(words, crc)
    return at < len(words) and words[at] == crc


def second_syllables(
    words: Iterable[tuple[str, Key]], first: Callable[[str], bool]
) -> dict[str, frozenset[str]]:
    """The dictionary's two-syllable words, folded, whose first syllable passes `first` (a catalogue word): first
    syllable → the second syllables it takes ("bảo" → "quản": after a product word, an unknown word that makes a
    word of the language with it is no description of the product)."""
    pairs: dict[str, set[str]] = {}
    for _, key in words:
        if len(key) == 2 and first(key[0]):
            pairs.setdefault(key[0], set()).add(key[1])
    return {syllable: frozenset(seconds) for syllable, seconds in pairs.items()}


def chat_pairs(
    words: Iterable[tuple[str, Key]],
    catalogue: Callable[[str], bool],
    skip: Callable[[Key, tuple[str, ...]], bool],
) -> frozenset[str]:
    """The dictionary's two-syllable words with a syllable the catalogue has (`catalogue`) that `skip` (given the
    key and the syllables' accent keys) lets pass, as those accent keys joined by a space: "hóa trị" → "hoa1 tri5".
    Typed with those marks, their syllables are that word, not the catalogue's. (Strings, not tuples: some 20,000
    of them live as long as the index.)"""
    out = set()
    for text, key in words:
        if len(key) == 2 and (catalogue(key[0]) or catalogue(key[1])):
            accents = tuple(accent_key(syllable) for syllable in text.split())
            if not skip(key, accents):
                out.add(" ".join(accents))
    return frozenset(out)


def other_compounds(
    heads: dict[str, set[str]],
    names_product: Callable[[Key], bool],
    is_chat: Callable[[str, str], bool],
    words: Iterable[tuple[str, Key]] | None = None,
) -> tuple[dict[Key, list[tuple[str | None, ...]]], dict[tuple[str, str], list[tuple[str | None, ...]]]]:
    """The dictionary's words that name other things than products, by key → how each is written; and the
    two-syllable words that end in a kind word ("bệnh nhân"), so that one is not read as the start of a
    compound ("nhân thân") when it closes another word.

    `heads`: a kind word's folded form → the accent keys it is written with at the start of product names.
    `names_product(key)`: does some product have these words side by side. `is_chat(folded, accent)`: is a
    word, as marked, chat the lexicon knows (a taste, a quality, a question).
    """
    goods: dict[Key, list[tuple[str | None, ...]]] = {}
    closing: dict[tuple[str, str], list[tuple[str | None, ...]]] = {}
    for text, key in dictionary_words() if words is None else words:
        if key[0] not in heads and (len(key) != 2 or key[1] not in heads):
            continue
        # Every syllable of the dictionary is Vietnamese as written: one with no marks has the level tone ("chè
        # lam" is no "làm"), unlike an unmarked word of the lexicon, which may be typed either way.
        accents = tuple(accent_key(syllable) for syllable in text.split())
        if len(key) == 2 and accents[1] in heads.get(key[1], ()):
            closing.setdefault((key[0], key[1]), []).append(accents)
        if accents[0] not in heads.get(key[0], ()):
            continue
        if any(is_chat(k, a) for k, a in zip(key[1:], accents[1:], strict=True)):
            continue
        if names_product(key):
            continue
        goods.setdefault(key, []).append(accents)
    return goods, closing
