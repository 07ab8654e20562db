"""Vietnamese alphabetical order for every list the bot shows, through ICU's Vietnamese collation (PyICU).

Python's default order compares code points, which puts "Chè" before "Chả", "Giò" before "Gà" and "Đông"
after "Xôi". ICU's `vi` tailoring orders the Vietnamese alphabet (a ă â b c d đ e ê … o ô ơ … u ư …) and
then the tones in dictionary order (ngang, huyền, hỏi, ngã, sắc, nặng); English names sort as usual under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import icu

# Sort keys only read the collator, which ICU allows from several threads at once.
_COLLATOR = icu.Collator.createInstance(icu.Locale("vi"))


@lru_cache(maxsize=65536)
def collation_key(text: str) -> bytes:
    """The key to sort by: `sorted(names, key=collation_key)` is Vietnamese alphabetical order."""
    return _COLLATOR.getSortKey(text or "")


def sort_names(names: Iterable[str]) -> list[str]:
    return sorted(names, key=collation_key)
