"""Decode Telex and VNI keystrokes left in a word when a Vietnamese input method was off (`thieeuf`→`thiều`)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_VOWELS = set("aeiouyâêôơăư")
_TONE_MARK = {1: "\u0301", 2: "\u0300", 3: "\u0309", 4: "\u0303", 5: "\u0323"}
_TELEX_TONES = {"s": 1, "f": 2, "r": 3, "x": 4, "j": 5}
_CIRCUMFLEX = {"a": "â", "e": "ê", "o": "ô"}
_HORN_BREVE = {"a": "ă", "o": "ơ", "u": "ư"}
_INITIAL = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?")
_FINAL = re.compile(r"^(ch|ng|nh|[cmnpt])?$")
# Vowel clusters that occur in Vietnamese syllables, written without marks. Anything else (`ea`, `oue`)
# means the letters were English, not Telex.
_CLUSTER_LIST = (
    "a e i o u y ai ao au ay eo eu ia ie iu oa oe oi oo ua ue ui uo uu uy ye ieu yeu oai oao oay oeo"
)
_CLUSTERS = frozenset((_CLUSTER_LIST + " uay uoi uou uya uye uyu").split(" "))


def _strip_marks(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", s) if not unicodedata.combining(ch)).replace(
        "đ", "d"
    )


def _place_tone(word: str, tone: int) -> str | None:
    """Put the tone mark where Vietnamese orthography puts it (old style: hòa, thủy); None if not a syllable."""
    m = _INITIAL.match(word)
    initial = m.group(0) if m else ""
    rest = word[len(initial) :]
    if initial == "gi" and (not rest or rest[0] not in _VOWELS):
        initial, rest = "g", word[1:]  # gì, gìn: here the i is the vowel
    i = 0
    while i < len(rest) and rest[i] in _VOWELS:
        i += 1
    vowels, final = rest[:i], rest[i:]
    if not vowels or not _FINAL.match(final) or _strip_marks(vowels) not in _CLUSTERS:
        return None
    if not tone:
        return word
    shaped = [k for k, ch in enumerate(vowels) if ch in "âêôơăư"]
    if "ươ" in vowels:
        pos = vowels.index("ươ") + 1
    elif shaped:
        pos = shaped[-1]
    elif len(vowels) == 1:
        pos = 0
    elif final:
        pos = len(vowels) - 1
    elif len(vowels) == 3:
        pos = 1
    else:
        pos = 0
    marked = vowels[:pos] + vowels[pos] + _TONE_MARK[tone] + vowels[pos + 1 :]
    return unicodedata.normalize("NFC", initial + marked + final)


_STOP_FINAL = re.compile(r"(?:ch|[cpt])$")


@lru_cache(maxsize=16384)
def well_formed(letters: str, tone: int = 0) -> bool:
    """Can these letters (marks on letters kept, tone mark off) with this tone (0-5) be a Vietnamese syllable?

    Initial, vowel cluster and final must fit together, and a syllable ending in p, t, c or ch only takes
    the sắc (1) or nặng (5) tone: `sợi` yes, `thiềuu` no, `mât` no.
    """
    if not letters.isalpha() or _place_tone(letters, 0) is None:
        return False
    return not (_STOP_FINAL.search(letters) and tone not in (1, 5))


def _apply_horn(out: list[str]) -> bool:
    """Telex `w` / VNI `7`/`8`: horn or breve on the last vowel group; `uo` becomes `ươ` together."""
    idx = [k for k, ch in enumerate(out) if ch in _VOWELS]
    if not idx:
        return False
    last = idx[-1]
    start = last
    while start - 1 >= 0 and out[start - 1] in _VOWELS:
        start -= 1
    group = "".join(out[start : last + 1])
    if "uo" in group:
        k = start + group.index("uo")
        out[k], out[k + 1] = "ư", "ơ"
        return True
    for k in range(last, start - 1, -1):
        if out[k] in _HORN_BREVE:
            out[k] = _HORN_BREVE[out[k]]
            return True
    return False


@lru_cache(maxsize=16384)
def decode_telex(word: str) -> str | None:
    """The Vietnamese syllable a Telex key sequence spells (`ruowju`→`rượu`), or None if it spells none.

    Only lowercase ASCII letters are decoded; a word with no Telex keys at all also gives None, so callers
    can tell "already a plain word" from "decoded".
    """
    if not word or not word.isascii() or not word.isalpha() or len(word) > 12:
        return None
    out: list[str] = []
    tone = 0
    keyed = False
    for ch in word:
        prev = out[-1] if out else ""
        has_vowel = any(c in _VOWELS for c in out)
        if ch == "d" and out == ["d"]:
            out[-1] = "đ"
        elif ch in _CIRCUMFLEX and prev == ch:
            out[-1] = _CIRCUMFLEX[ch]
        elif ch == "w":
            if not _apply_horn(out):
                if has_vowel:
                    return None
                out.append("ư")  # a bare w is ư (tw → tư)
        elif ch in _TELEX_TONES and has_vowel:
            # No Vietnamese syllable has s, f, r, x or j after its vowel, so here they can only be tone keys.
            tone = _TELEX_TONES[ch]
        elif ch == "z" and has_vowel:
            tone = 0
        else:
            out.append(ch)
            continue
        keyed = True
    if not keyed:
        return None
    return _place_tone("".join(out), tone)


@lru_cache(maxsize=16384)
def decode_vni(word: str) -> str | None:
    """The syllable a VNI key sequence spells (`mat65`→`mật`, `d9oi62`→`đồi`), or None."""
    if not word or not word.isascii() or not word.isalnum() or not word[0].isalpha() or word.isalpha():
        return None
    out: list[str] = []
    tone = 0
    for ch in word:
        if ch.isalpha():
            out.append(ch)
            continue
        d = int(ch)
        if 1 <= d <= 5:
            tone = d
        elif d == 0:
            tone = 0
        elif d == 6:
            k = max((k for k, c in enumerate(out) if c in _CIRCUMFLEX), default=-1)
            if k < 0:
                return None
            out[k] = _CIRCUMFLEX[out[k]]
        elif d in (7, 8):
            if not _apply_horn(out):
                return None
        elif d == 9:
            if "d" not in out:
                return None
            out[out.index("d")] = "đ"
    return _place_tone("".join(out), tone)


def decode_keystrokes(word: str) -> str | None:
    """Telex or VNI decoding of one lowercase word, whichever applies."""
    return decode_vni(word) if any(ch.isdigit() for ch in word) else decode_telex(word)
