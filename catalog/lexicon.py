"""The search vocabulary (catalog/data/lexicon.json) loaded into folded lookup tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalog.text import accent_key, english_stem, has_marks, tokenize

LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.json"

Key = tuple[str, ...]


def phrase_key(text: str) -> Key:
    """Folded, plural-stripped tokens of a phrase: the form every lookup table is keyed by."""
    return tuple(english_stem(t.folded) for t in tokenize(text))


def phrase_accents(text: str) -> tuple[str | None, ...]:
    """Per-token accent key, or None for a token written without marks (English, or unmarked Vietnamese)."""
    return tuple(accent_key(t.raw) if has_marks(t.raw) else None for t in tokenize(text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """One written form: its lookup key, its per-token accents, and whether it is Vietnamese."""

    key: Key
    accents: tuple[str | None, ...]
    vietnamese: bool


@dataclass(frozen=True, slots=True)
class Concept:
    """Equivalent ways to name one product word, in both languages."""

    vi: tuple[Phrase, ...]
    en: tuple[Phrase, ...]
    members: tuple[Phrase, ...] = ()  # for a class ("fruit"), the product words it stands for


@dataclass(frozen=True, slots=True)
class Exclusion:
    """What a phrase like "không cồn" (non-alcoholic) asks for: not this product word, maybe this product group."""

    target: Key  # the product word ruled out ("rượu"), with everything its concept stands for
    category: str | None = None  # the product group the phrase implies ("beverage"), if any
    # Only where that leaves something: "healthy drinks" are the drinks but rượu; "rượu bổ dưỡng" is still rượu.
    soft: bool = False


@dataclass(slots=True)
class Lexicon:
    """Folded lookup tables built from the lexicon file; see the file's `_about` for what each section means."""

    concepts: list[Concept] = field(default_factory=list)
    concept_index: dict[Key, list[tuple[int, bool]]] = field(
        default_factory=dict
    )  # key → (concept, typed in vi)
    scaffolding: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)
    star_markers: set[Key] = field(default_factory=set)
    star_numbers: dict[str, int] = field(default_factory=dict)
    at_least_after: set[Key] = field(default_factory=set)
    at_least_before: set[Key] = field(default_factory=set)
    categories: dict[Key, str] = field(default_factory=dict)
    place_prefixes: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)  # key → accents
    place_aliases: dict[str, list[str]] = field(default_factory=dict)  # display name → other spellings
    # Places outside the catalogue's area → the accents they are written with.
    elsewhere: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)
    # Other countries' adjectives ("Korean", "Belgian"): right before a product word, where the goods come from.
    origins: set[Key] = field(default_factory=set)
    without: dict[Key, list[tuple[tuple[str | None, ...], Exclusion]]] = field(default_factory=dict)
    compounds: set[Key] = field(default_factory=set)
    # Needs and occasions ("quà biếu", "xương khớp", "nhậu") → the use tags products carry (catalog/data/uses.json).
    uses: dict[Key, list[tuple[tuple[str | None, ...], str]]] = field(default_factory=dict)
    # What a message asks about a product beside naming it: price, delivery, wholesale (scaffolding too).
    asks: dict[Key, list[tuple[tuple[str | None, ...], str]]] = field(default_factory=dict)
    # Words after which a place is where the goods go, not where they come from ("ship ra Hà Nội").
    destination_cues: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)  # → how each is written
    # Words that rule out the product word right after them ("ngoài ổi ra", "trừ rượu", "not tea").
    negations: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)  # with how each is written
    # Words that make the product word they introduce describe another thing, the head of the phrase
    # ("kem đánh răng hương vải", "lychee-scented candles") → their accents and whether the head comes first
    # (Vietnamese) or last (English).
    modifiers: dict[Key, list[tuple[tuple[str | None, ...], bool]]] = field(default_factory=dict)
    # A way of giving ("mang", "bring") and a person it is for ("bố mẹ vợ", "host family"): together, a gift asked
    # for without the word ("nên mang gì cho bố mẹ vợ") → their accents.
    giving_verbs: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)
    recipients: dict[Key, list[tuple[str | None, ...]]] = field(default_factory=dict)
    # Need phrases that name a time of year or an occasion, not the need itself ("Valentine", "Tết", "20/10").
    occasions: set[Key] = field(default_factory=set)
    # Words that ask what there is ("sản phẩm", "đặc sản", "có gì", "products", "list"): beside a place alone, its
    # products are the answer; without them, the place is only where some other thing is wanted ("thợ điện ở Lục
    # Ngạn", "a paediatrician in Bac Giang").
    browsing: set[Key] = field(default_factory=set)
    # Things bought that are no catalogue kind ("xà bông", "face mask") → their accents and whether they come before
    # the product word that describes them (Vietnamese) or after it (English).
    other_goods: dict[Key, list[tuple[tuple[str | None, ...], bool]]] = field(default_factory=dict)
    # Verbs that work on a product ("nấu", "đóng gói", "bottling"): after a thing nobody listed, the product word
    # is what that thing is for ("nồi nấu bánh chưng", "túi zip đóng gói chè"), and that thing is what is asked
    # for → their accents and whether they are Vietnamese. Not words the search knows (they are no chat).
    processes: dict[Key, list[tuple[tuple[str | None, ...], bool]]] = field(default_factory=dict)
    words: set[str] = field(default_factory=set)  # every folded token the lexicon knows
    max_phrase: int = 1
    # Dishes whose names do not say what they are made of ("bún chả", "gỏi cuốn"): they stand for their ingredients.
    dishes: set[Key] = field(default_factory=set)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Lexicon:
        lex = cls()

        def phrases(texts: Iterable[str], vietnamese: bool) -> tuple[Phrase, ...]:
            out = [Phrase(phrase_key(t), phrase_accents(t), vietnamese) for t in texts]
            return tuple(p for p in out if p.key)

        def note(key: Key) -> Key:
            lex.words.update(key)
            lex.max_phrase = max(lex.max_phrase, len(key))
            return key

        groups = (*data.get("concepts", ()), *data.get("classes", ()), *data.get("dishes", ()))
        first_dish = len(groups) - len(data.get("dishes", ()))
        for n, group in enumerate(groups):
            concept = Concept(
                phrases(group.get("vi", ()), True),
                phrases(group.get("en", ()), False),
                phrases(group.get("members", ()), True),
            )
            idx = len(lex.concepts)
            lex.concepts.append(concept)
            for p in concept.vi + concept.en:
                lex.concept_index.setdefault(note(p.key), []).append((idx, p.vietnamese))
                if n >= first_dish:
                    lex.dishes.add(p.key)
            for p in concept.members:
                note(p.key)
        for text in data.get("scaffolding", ()):
            key = phrase_key(text)
            if key:
                lex.scaffolding.setdefault(note(key), []).append(phrase_accents(text))
        stars = data.get("stars", {})
        lex.star_markers = {note(k) for k in map(phrase_key, stars.get("markers", ())) if k}
        for value, names in stars.get("numbers", {}).items():
            for name in names:
                key = phrase_key(name)
                if len(key) == 1:
                    lex.star_numbers[note(key)[0]] = int(value)
        lex.at_least_after = {note(k) for k in map(phrase_key, stars.get("at_least_after", ())) if k}
        lex.at_least_before = {note(k) for k in map(phrase_key, stars.get("at_least_before", ())) if k}
        for code, names in data.get("categories", {}).items():
            for name in names:
                key = phrase_key(name)
                if key:
                    lex.categories[note(key)] = code
        places = data.get("places", {})
        for text in places.get("prefixes", ()):
            key = phrase_key(text)
            if key:
                lex.place_prefixes.setdefault(note(key), []).append(phrase_accents(text))
        lex.place_aliases = {str(k): list(v) for k, v in places.get("aliases", {}).items()}
        for names in lex.place_aliases.values():
            for name in names:
                note(phrase_key(name))
        for text in data.get("elsewhere", ()):
            key = phrase_key(text)
            if key:
                lex.elsewhere.setdefault(note(key), []).append(phrase_accents(text))
        lex.origins = {note(k) for k in map(phrase_key, data.get("origins", ())) if k}
        for entry in data.get("without", ()):
            target = phrase_key(entry["not"])
            if not target:
                continue
            exclusion = Exclusion(note(target), entry.get("category"), bool(entry.get("soft")))
            for text in (*entry.get("vi", ()), *entry.get("en", ())):
                key = phrase_key(text)
                if key:
                    lex.without.setdefault(note(key), []).append((phrase_accents(text), exclusion))
        lex.compounds = {note(k) for k in map(phrase_key, data.get("opaque_compounds", ())) if len(k) >= 2}
        for code, names in data.get("uses", {}).items():
            for text in (*names.get("vi", ()), *names.get("en", ())):
                key = phrase_key(text)
                if key:
                    lex.uses.setdefault(note(key), []).append((phrase_accents(text), code))
        for kind, texts in data.get("asks", {}).items():
            for text in texts:
                key = phrase_key(text)
                if key:
                    lex.asks.setdefault(key, []).append((phrase_accents(text), kind))
                    lex.scaffolding.setdefault(note(key), []).append(phrase_accents(text))
        for text in data.get("destination_cues", ()):
            key = phrase_key(text)
            if key:
                lex.destination_cues.setdefault(note(key), []).append(phrase_accents(text))
        for text in data.get("negations", ()):
            key = phrase_key(text)
            if key:
                lex.negations.setdefault(note(key), []).append(phrase_accents(text))
        for language, texts in data.get("modifiers", {}).items():
            for text in texts:
                key = phrase_key(text)
                if key:
                    lex.modifiers.setdefault(note(key), []).append((phrase_accents(text), language == "vi"))
        for section, table in (("other_goods", lex.other_goods), ("processes", lex.processes)):
            for language, texts in data.get(section, {}).items():
                for text in texts:
                    key = phrase_key(text)
                    if key:
                        table.setdefault(key, []).append((phrase_accents(text), language == "vi"))
        giving = data.get("giving", {})
        for table, texts in ((lex.giving_verbs, giving.get("verbs", ())), (lex.recipients, giving.get("recipients", ()))):
            for text in texts:
                key = phrase_key(text)
                if key:
                    table.setdefault(key, []).append(phrase_accents(text))
        lex.occasions = {k for k in map(phrase_key, data.get("occasions", ())) if k}
        lex.browsing = {k for k in map(phrase_key, data.get("browsing", ())) if k}
        return lex

    @classmethod
    def load(cls, path: str | Path | None = None) -> Lexicon:
        with open(path or LEXICON_PATH, encoding="utf-8") as fh:
            return cls.from_mapping(json.load(fh))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped with the package, loaded once per process."""
    return Lexicon.load()
