"""The closed vocabulary of use and occasion tags (catalog/data/uses.json) that products carry in `uses`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class UseTag:
    """One tag: its code, whether it rests on sources or on the team's rule by type, labels and rule."""

    code: str
    basis: str  # "sourced" (health claims, only from descriptions/sources) or "curated" (by product type)
    label_vi: str
    label_en: str
    rule: str
    # OCOP product groups whose products also answer this need, listed after the tagged ones, as that group
    # and not as a claim about each product ("health": the herbal group, thảo dược).
    groups: tuple[str, ...] = ()
    # The kinds of product a shop assistant offers first for this need, most typical first: how a product's
    # Vietnamese name begins ("hương", "rượu", "xôi" for offerings). Products of other kinds follow.
    first: tuple[str, ...] = ()
    # A diet rather than an occasion ("ăn chay"): with other needs, every product offered must keep it.
    diet: bool = False
    # OCOP product groups a buyer counts this need's products in, whatever group they are certified in: tea is a
    # drink to a buyer ("nước uống cho tỉnh táo"), though OCOP files it under food.
    counts_as: tuple[str, ...] = ()
    # For a small gift for many people ("quà nhỏ", "return gifts", "under 150k each"): the kinds offered first.
    small_first: tuple[str, ...] = ()


@cache
def use_tags() -> tuple[UseTag, ...]:
    """Every tag, in the file's order (the order tags are stored and exported in)."""
    doc = json.loads(resources.files("catalog.data").joinpath("uses.json").read_text(encoding="utf-8"))
    return tuple(
        UseTag(
            t["code"],
            t["basis"],
            t["label_vi"],
            t["label_en"],
            t["rule"],
            tuple(t.get("groups", ())),
            tuple(t.get("first", ())),
            bool(t.get("diet", False)),
            tuple(t.get("counts_as", ())),
            tuple(t.get("small_first", ())),
        )
        for t in doc["tags"]
    )


def use_codes() -> tuple[str, ...]:
    return tuple(t.code for t in use_tags())
