"""Search data: the public answer types, the query model the parser builds, and the ranking weights."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.lexicon import Exclusion, Key
from catalog.text import Token

# A product is an answer only when the query's product words are this well covered by its names
# (weighted: exact 1.0, a producer or place field 0.8, a regional spelling 0.7-0.9, a typo 0.4-0.85).
CONFIDENT = 0.75
# In a long message, failing that, a product covering this much of it, with at least this weight covered
# (a known two-word phrase, or two words), is still the answer: the rest is chat.
PARTIAL, TELLING = 0.5, 1.5
# A message of more than this many words is long: chat around the product words rather than a query.
LONG_MESSAGE = 4
# Answers scoring this far below the best are noise around the real answer, not answers.
RESULT_MARGIN = 12.0
# How many of the best-covered candidates get the (costlier) rapidfuzz name comparison.
RERANK = 30
MAX_QUERY_TOKENS = 64  # a long chat message often names the product near its end
SUGGESTIONS = 3

NAME, PRODUCER, PLACE, PROVINCE = 1.0, 0.8, 0.8, 0.5
ACCENT_MISMATCH = 0.7  # the buyer typed marks and this product's word has other marks: probably another word
BOUND = 0.6  # the word is in this product only as part of a compound that means something else
SUGGEST_MISMATCH = 0.4  # for did-you-mean, marks that disagree mean another word all the more
# Ranking points for words found beyond the product words: an ambiguous word, place or product group the
# product has (soft) says more than a scaffolding word it happens to contain (optional).
SOFT_POINTS, OPTIONAL_POINTS, BONUS_CAP = 3.0, 1.0, 8.0
# List a unit's products in full when that is at most this many times the products still in the running;
# past that, asking product by product is cheaper.
LIST_RATIO = 10
# Listings of expanded words kept per index, in (product, quality) entries: about 70 MB at most, and a few
# hundred kB for the demo catalogue.
MAP_CACHE_ENTRIES = 1_000_000
# Product groups whose words say what a product is made of: with them a product word from another group is
# another thing of the same name ("vải dệt" is woven cloth, not lychee).
KIN = {"textile": ("textile", "handicraft")}
# A word read with the other final (-n/-ng, -c/-t): never an answer alone, as many real words differ just
# there; below a catalogue word typed as it is.
FINAL_SWAP, FINAL_SWAP_KNOWN = 0.7, 0.6
LEXICON_ALT = 0.95  # a synonym or translation ranks just below the words the buyer actually typed
NEAR_PHRASE = 0.9  # a known phrase with one word mistyped
STAR_SYMBOL = re.compile(r"(\d)\s*(?:\*|★|⭐|☆)+")
LETTERS_DIGITS = re.compile(r"[a-z]+|[0-9]+")


# --------------------------------------------------------------------------------------------- public types


@dataclass(frozen=True, slots=True)
class ProductDoc:
    """The searchable fields of one product, as written in the catalogue."""

    slug: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...]
    category: str
    stars: int | None
    producer: str
    commune: str
    district: str
    province: str
    uses: tuple[str, ...] = ()  # use and occasion tags (gift, health, tet…): see catalog/data/uses.json

    def __reduce__(self) -> tuple[type[ProductDoc], tuple[Any, ...]]:
        # Pickled as its fields in order (a stored index holds one per product): twice as fast to load as
        # the default state dictionary of a frozen dataclass.
        return ProductDoc, (
            self.slug,
            self.name_vi,
            self.name_en,
            self.aliases,
            self.category,
            self.stars,
            self.producer,
            self.commune,
            self.district,
            self.province,
            self.uses,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ProductDoc:
        """From a `products` row of the catalogue format: aliases as a list or a `|`-separated string."""

        def text(key: str) -> str:
            value = row.get(key)
            return "" if value is None else str(value).strip()

        raw_aliases = row.get("aliases") or ()
        if isinstance(raw_aliases, str):
            raw_aliases = raw_aliases.split("|")
        aliases = tuple(a for a in (str(x).strip() for x in raw_aliases) if a)
        raw_uses = row.get("uses") or ()
        if isinstance(raw_uses, str):
            raw_uses = raw_uses.split("|")
        uses = tuple(u for u in (str(x).strip().lower() for x in raw_uses) if u)
        stars_raw = row.get("stars")
        try:
            stars = int(stars_raw) if stars_raw not in (None, "") else None
        except (TypeError, ValueError):
            stars = None
        return cls(
            slug=text("slug"),
            name_vi=text("name_vi"),
            name_en=text("name_en"),
            aliases=aliases,
            category=text("category").lower(),
            stars=stars,
            producer=text("producer"),
            commune=text("commune"),
            district=text("district"),
            province=text("province"),
            uses=uses,
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One product found, with how well it matches (0..100, comparable within one answer)."""

    doc: ProductDoc
    score: float  # 0..100

    def to_json(self) -> dict[str, Any]:
        d = self.doc
        return {
            "slug": d.slug,
            "name_vi": d.name_vi,
            "name_en": d.name_en,
            "producer": d.producer,
            "commune": d.commune,
            "district": d.district,
            "stars": d.stars,
            "category": d.category,
            "score": round(float(self.score), 1),
        }


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """What the search understood of a query and what it found."""

    query: str
    results: list[SearchHit]  # what the bot presents as the answer, best first; [] when nothing matches
    suggestions: list[SearchHit]  # "did you mean", only when results is empty
    filters: dict[
        str, Any
    ]  # recognised filters: stars, min_stars, district, commune, province, category, use
    terms: str  # folded product words left after scaffolding and filters were taken out
    asks: tuple[str, ...] = ()  # what else the message asks about: "price", "delivery", "wholesale"
    # The rules found products but the answer gate doubts they are what was asked (catalog/search/gate.py): they are
    # the suggestions, offered as the closest the catalogue has.
    doubted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": [h.to_json() for h in self.results],
            "suggestions": [h.to_json() for h in self.suggestions],
            "filters": dict(self.filters),
            "asks": list(self.asks),
            "doubted": self.doubted,
        }


# ------------------------------------------------------------------------------------------ query analysis


@dataclass(frozen=True, slots=True)
class Alt:
    """One way a query unit can be found in a product: these tokens, at this quality."""

    key: Key
    q: float
    accents: tuple[str | None, ...]  # accent the product's word should have, per token (None: any)
    sound: bool = False  # look the tokens up by regional-spelling key rather than exactly
    free: bool = False  # only where the word stands on its own, not inside a place name or opaque compound
    exact: bool = False  # only where the product writes it with the marks typed (another place's name)
    # A tone typed that is not the product's makes another word (in a chat message, where most words have their
    # marks), not a slip of the tone as in a short query typed with one ("mát ong"): see Matcher.fitting.
    tones: bool = False


@dataclass(slots=True)
class Unit:
    """One thing the query asks for (a word or a known phrase) and the ways it may appear in a product."""

    text: str
    weight: float
    alts: list[Alt]
    role: str  # "content" (must be found), "soft" (counts where found), "common" (a soft chat word that a
    # product name has too: asked for only when nothing else is), "optional" (bonus), "elsewhere"
    found: dict[int, float] | None = None  # products and qualities, once listed for this query
    sizes: list[int] | None = None  # how many products each alternative reaches, once counted
    # A word neither the catalogue nor the vocabulary knows: content, weighed by how much it could be a
    # product word (catalog/search/register.py) rather than vetoing the words the search can place. The
    # weight before the message's length was counted (STRAY_STOPWORD, _FOREIGN, _VIETNAMESE); 0: not a stray.
    stray: float = 0.0
    at: int = -1  # position in the query of its first word
    lacked: bool = False  # other goods named on their own, with no product word of ours asked ("hoa tươi")
    # A stray right after a product word amid chat the lexicon knows ("có rượu sim không ạ"): it says which kind,
    # so it keeps its weight in a long message.
    kind_word: bool = False


@dataclass(frozen=True, slots=True)
class PlaceName:
    """A place the catalogue names (a province, a former district or a commune)."""

    kind: str  # "district", "commune" or "province"
    value: str  # as written in the catalogue
    key: Key  # the place's own name tokens, without prefix


@dataclass(frozen=True, slots=True)
class FieldText:
    """One catalogue text analysed for indexing (cached: places and producers repeat across products)."""

    keys: list[str]
    marked: list[tuple[str, str]]  # (word, how it is marked) for words written with marks
    plain: list[str]  # words written without marks
    pairs: list[tuple[str, str]]  # adjacent words
    inside: dict[int, set[str]]
    syllables: list[str]
    bigrams: list[tuple[str, str]]
    sorted_words: str  # folded words in sorted order, for token-sort similarity


@dataclass(frozen=True, slots=True)
class QueryWords:
    """A query's words as the parser walks them: tokens, folded keys, typed marks, sound keys, unknown flags."""

    toks: list[Token]
    keys: list[str]
    marked: list[str | None]
    sounds: list[str]
    unknown: list[bool]
    words: int = 0  # how many words the message has (its length, for weighing unknown words)
    coded: list[bool] = field(default_factory=list)  # per token: part of a letters-and-digits code
    named: Any = None  # the words written as names mid-sentence ("Diễn", "Zealand"), read on demand: .get()
    diacritics: bool = False  # the message is written with Vietnamese marks
    english: bool = False  # written without marks, a third of its words English function words only English has


@dataclass(slots=True)
class ParsedQuery:
    """A query read: the units it asks for and the filters it names."""

    units: list[Unit] = field(default_factory=list)
    stars: int | None = None
    min_stars: bool = False
    categories: list[str] = field(default_factory=list)
    places: list[PlaceName] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)  # product words ruled out ("không cồn": not rượu)
    joins: list[int] = field(default_factory=list)  # positions of "và", "hoặc", "and", "or"
    long: bool = False  # more than LONG_MESSAGE words: a chat message, not a typed query
    english_words: bool = False  # has a function word only English has ("for", "the", "something")
    names: frozenset[str] = frozenset()  # folded words written as names mid-sentence
    name_phrases: list[Key] = field(default_factory=list)  # consecutive such words ("bac ha", "u minh")
    uses: list[str] = field(default_factory=list)  # needs and occasions named ("quà biếu": gift), as use tags
    # Of those, the ones only implied ("nên mang gì cho bố mẹ vợ": a gift): no preference among products named.
    implied: set[str] = field(default_factory=set)
    use_spans: list[tuple[int, int]] = field(default_factory=list)  # where they were named (word positions)
    use_phrases: list[tuple[str, str]] = field(default_factory=list)  # (tag, folded phrase) as named
    # Product words named inside them ("nhắm rượu"), and whether only products of that kind count ("thắp hương").
    use_products: list[tuple[str, bool]] = field(default_factory=list)
    asks: list[str] = field(
        default_factory=list
    )  # price, delivery, wholesale: asked about, not product words
    ask_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # where each was asked (word positions)
    words: list[str] = field(default_factory=list)  # folded product and place words, for name similarity
    keys: list[str] = field(default_factory=list)  # every word's key, in order (units' `at` index it)
    marked: list[str | None] = field(default_factory=list)  # per word, its marks as typed (None: typed plain)
    clauses: frozenset[int] = frozenset()  # positions where a clause begins (after a comma, a full stop…)
    # Positions of product words that only describe the thing asked for ("kem đánh răng hương vải thiều")
    described: set[int] = field(default_factory=set)
    negated: set[int] = field(default_factory=set)  # positions of words ruled out ("đã bỏ rượu bia"): not asked for
    # Every place and star rating named, in order, repeats included (a choice names its pick again: `chosen`).
    place_mentions: list[PlaceName] = field(default_factory=list)
    star_mentions: list[int] = field(default_factory=list)


def phrase_weight(words: int) -> float:
    """A phrase the lexicon knows ("đông trùng hạ thảo") is one thing asked for, if a weightier one than a word."""
    return 1.0 + 0.5 * (words - 1)
