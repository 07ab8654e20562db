"""The chat register around product words: how much a word nobody listed could be a product word.

Buyers wrap product words in chat: politeness, family ("mẹ em", "my wife"), plans ("next week"),
shorthand. The lexicon lists the common ones, but never all. A word neither the catalogue nor the
lexicon knows (a *stray*) is therefore not a veto: it stays in the query as a product word of reduced
weight, so one clear product word in a long message still wins, while a short query whose other word
is unknown ("bánh pía", "durian chips") stays unanswered:

- a function word of either language (the stopwords-iso lists, via `stopwordsiso`) weighs little, except
  a Vietnamese one in a short query: that list holds classifiers and nouns too ("bánh cuốn");
- a word that could be a Vietnamese syllable weighs most: the catalogue is Vietnamese, and an unknown
  Vietnamese word next to a product word usually names another product ("bánh pía");
- an English-looking word or shorthand (not a Vietnamese syllable) weighs less: every English product
  word the catalogue sells is in the lexicon, so an unknown English word is more likely chat;
- the longer the message, the less each stray weighs: in a three-word query an unknown word is a third
  of what is asked, in a twenty-word message it is chat around the product.
"""

from __future__ import annotations

from functools import cache, lru_cache

import stopwordsiso
from rapidfuzz import process
from rapidfuzz.distance import OSA

from catalog.search.model import LONG_MESSAGE
from catalog.telex import well_formed
from catalog.text import accent_key, fold, has_marks

STRAY_VIETNAMESE = 0.6
STRAY_FOREIGN = 0.35
STRAY_STOPWORD = 0.1
# In a long message, all strays together weigh at most this share of the words the search could place: so
# they never veto a product that has every one of those (1 / (1 + 0.3) is above CONFIDENT).
STRAY_SHARE = 0.3


@cache
def _stopwords() -> tuple[dict[str, frozenset[str | None]], frozenset[str]]:
    """Single-word stopwords: Vietnamese by folded form → the accent keys it is written with; English folded."""
    vi: dict[str, set[str | None]] = {}
    for word in stopwordsiso.stopwords("vi"):
        if " " not in word and "-" not in word:
            vi.setdefault(fold(word), set()).add(accent_key(word) if has_marks(word) else None)
    en = frozenset(fold(w) for w in stopwordsiso.stopwords("en") if w.isalpha())
    return {k: frozenset(v) for k, v in vi.items()}, en


@cache
def _english_stopwords() -> list[str]:
    return sorted(w for w in _stopwords()[1] if len(w) >= 4)


@lru_cache(maxsize=65536)
def is_stopword(raw: str, folded: str, strict: bool = False) -> bool:
    """A function word of Vietnamese or English; a word typed with marks must carry a stopword's marks, and
    with `strict` (a message written with marks) so must one typed without: "Minh" there is no "mình"."""
    vi, en = _stopwords()
    accents = vi.get(folded)
    if not has_marks(raw):
        if strict and accents is not None:
            return None in accents or accent_key(raw) in accents or folded in en
        return accents is not None or folded in en
    return accents is not None and accent_key(raw) in accents


def is_english_stopword(raw: str) -> bool:
    return raw.isascii() and raw.lower() in _stopwords()[1]


def only_english_stopword(raw: str) -> bool:
    """An English function word of three letters or more that no Vietnamese function word is spelt like typed
    plain ("the", "had", "with"; not "an", "co", nor the list's two-letter codes "ga", "bn")."""
    return len(raw) >= 3 and is_english_stopword(raw) and raw.lower() not in _stopwords()[0]


@lru_cache(maxsize=65536)
def near_english_stopword(folded: str) -> bool:
    """An English function word with one letter slipped ("wher", "whta", "becuase")."""
    if len(folded) < 4 or not folded.isascii():
        return False
    return process.extractOne(folded, _english_stopwords(), scorer=OSA.distance, score_cutoff=1) is not None


@lru_cache(maxsize=65536)
def could_be_vietnamese(raw: str, folded: str) -> bool:
    """Typed with Vietnamese marks, or letters that can spell a Vietnamese syllable (`pia` yes, `wife` no)."""
    if has_marks(raw):
        return True
    return folded.isalpha() and (well_formed(folded, 0) or well_formed(folded, 1))


def stray_base(raw: str, folded: str, message_words: int, code: bool = False) -> float:
    """How much an unknown word could be a product word, whatever the message's length."""
    short = message_words <= LONG_MESSAGE
    if code:
        return STRAY_VIETNAMESE  # part of a code of letters and digits ("ST25") names a particular thing
    if is_stopword(raw, folded) and not (short and could_be_vietnamese(raw, folded)):
        return STRAY_STOPWORD
    if could_be_vietnamese(raw, folded):
        return STRAY_VIETNAMESE
    if near_english_stopword(folded):
        return STRAY_STOPWORD
    return STRAY_FOREIGN


def stray_weight(raw: str, folded: str, message_words: int, code: bool = False) -> float:
    """How much an unknown word counts among a query's product words (a known one counts 1)."""
    return stray_base(raw, folded, message_words, code) * length_factor(message_words)


def length_factor(message_words: int) -> float:
    """Each unknown word of a long message weighs less: it is more likely chat around the product."""
    return min(1.0, LONG_MESSAGE / max(message_words, 1))
