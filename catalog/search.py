"""Catalogue search: an in-memory index over names, aliases, producers and places, with fuzzy re-ranking."""

from __future__ import annotations

import contextlib
import heapq
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from catalog.lexicon import Exclusion, Key, Lexicon, Phrase, default_lexicon, phrase_accents, phrase_key
from catalog.telex import decode_keystrokes, well_formed
from catalog.text import (
    Token,
    accent_key,
    clean,
    english_stem,
    fold,
    has_marks,
    other_final,
    sound_accent,
    sound_key,
    tokenize,
    tone_only,
)

# A product is an answer only when the query's product words are this well covered by its names
# (weighted: exact 1.0, a producer or place field 0.8, a regional spelling 0.7-0.9, a typo 0.4-0.85).
CONFIDENT = 0.75
# Answers scoring this far below the best are noise around the real answer, not answers.
RESULT_MARGIN = 12.0
# How many of the best-covered candidates get the (costlier) rapidfuzz name comparison.
RERANK = 30
MAX_QUERY_TOKENS = 32
SUGGESTIONS = 3

_NAME, _PRODUCER, _PLACE, _PROVINCE = 1.0, 0.8, 0.8, 0.5
_ACCENT_MISMATCH = 0.7  # the buyer typed marks and this product's word has other marks: probably another word
_BOUND = 0.6  # the word is in this product only as part of a compound that means something else
_SUGGEST_MISMATCH = 0.4  # for did-you-mean, marks that disagree mean another word all the more
# Ranking points for words found beyond the product words: an ambiguous word, place or product group the
# product has (soft) says more than a scaffolding word it happens to contain (optional).
_SOFT_POINTS, _OPTIONAL_POINTS, _BONUS_CAP = 3.0, 1.0, 8.0
# List a unit's products in full when that is at most this many times the products still in the running;
# past that, asking product by product is cheaper.
_LIST_RATIO = 10
# Listings of expanded words kept per index, in (product, quality) entries: about 70 MB at most, and a few
# hundred kB for the demo catalogue.
_MAP_CACHE_ENTRIES = 1_000_000
# Product groups whose words say what a product is made of: with them a product word from another group is
# another thing of the same name ("vải dệt" is woven cloth, not lychee).
_KIN = {"textile": ("textile", "handicraft")}
# A word read with the other final (-n/-ng, -c/-t): never an answer alone, as many real words differ just
# there; below a catalogue word typed as it is.
_FINAL_SWAP, _FINAL_SWAP_KNOWN = 0.7, 0.6
_LEXICON_ALT = 0.95  # a synonym or translation ranks just below the words the buyer actually typed
_NEAR_PHRASE = 0.9  # a known phrase with one word mistyped
_STAR_SYMBOL = re.compile(r"(\d)\s*(?:\*|★|⭐|☆)+")
_LETTERS_DIGITS = re.compile(r"[a-z]+|[0-9]+")


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
    filters: dict[str, Any]  # recognised filters: stars, min_stars, district, commune, province, category
    terms: str  # folded product words left after scaffolding and filters were taken out

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": [h.to_json() for h in self.results],
            "suggestions": [h.to_json() for h in self.suggestions],
            "filters": dict(self.filters),
        }


# ------------------------------------------------------------------------------------------ query analysis


@dataclass(frozen=True, slots=True)
class _Alt:
    """One way a query unit can be found in a product: these tokens, at this quality."""

    key: Key
    q: float
    accents: tuple[str | None, ...]  # accent the product's word should have, per token (None: any)
    sound: bool = False  # look the tokens up by regional-spelling key rather than exactly
    free: bool = False  # only where the word stands on its own, not inside a place name or opaque compound


@dataclass(slots=True)
class _Unit:
    """One thing the query asks for (a word or a known phrase) and the ways it may appear in a product."""

    text: str
    weight: float
    alts: list[_Alt]
    role: str  # "content" (must be found), "soft" (counts where found), "optional" (bonus), "elsewhere"
    found: dict[int, float] | None = None  # products and qualities, once listed for this query


@dataclass(frozen=True, slots=True)
class _Place:
    """A place the catalogue names (a province, a former district or a commune)."""

    kind: str  # "district", "commune" or "province"
    value: str  # as written in the catalogue
    key: Key  # the place's own name tokens, without prefix


@dataclass(frozen=True, slots=True)
class _Field:
    """One catalogue text analysed for indexing (cached: places and producers repeat across products)."""

    keys: list[str]
    marked: list[tuple[str, str]]  # (word, how it is marked) for words written with marks
    pairs: list[tuple[str, str]]  # adjacent words
    inside: dict[int, set[str]]
    syllables: list[str]
    bigrams: list[tuple[str, str]]
    sorted_words: str  # folded words in sorted order, for token-sort similarity


@dataclass(frozen=True, slots=True)
class _Query:
    """A query's words as the parser walks them: tokens, folded keys, typed marks, sound keys, unknown flags."""

    toks: list[Token]
    keys: list[str]
    marked: list[str | None]
    sounds: list[str]
    unknown: list[bool]


@dataclass(slots=True)
class _Parsed:
    """A query read: the units it asks for and the filters it names."""

    units: list[_Unit] = field(default_factory=list)
    stars: int | None = None
    min_stars: bool = False
    categories: list[str] = field(default_factory=list)
    places: list[_Place] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)  # product words ruled out ("không cồn": not rượu)
    words: list[str] = field(default_factory=list)  # folded product and place words, for name similarity


# ------------------------------------------------------------------------------------------------ the index


class SearchIndex:
    """Everything needed to answer a query, built once from the catalogue's products (rebuild = new index)."""

    def __init__(self, docs: Iterable[ProductDoc], lexicon: Lexicon | None = None) -> None:
        self.docs: list[ProductDoc] = list(docs)
        self.lexicon = lexicon or default_lexicon()
        lex = self.lexicon
        self._compounds = lex.compounds
        self._compound_heads = {k[0] for k in lex.compounds}
        self._post: dict[str, dict[int, float]] = {}  # word → product → best field weight it appears in
        self._sound_post: dict[str, dict[int, float]] = {}  # the same under regional-spelling keys
        self._marked: dict[str, dict[str, set[int]]] = {}  # word → how it is marked → products writing it so
        # Words a product has only inside an opaque compound ("sữa" in "vú sữa", "vải" in "mật ong hoa vải"):
        # word → product → the compound's other words.
        self._bound: dict[str, dict[int, frozenset[str]]] = {}
        self._bound_partners: dict[str, set[str]] = {}  # word → every compound partner it has anywhere
        self._name_keys: list[frozenset[str]] = []
        self._name_forms: list[tuple[str, ...]] = []
        self._syllables: set[str] = set()
        self._bigrams: set[tuple[str, str]] = set()
        # Adjacent words → products where they stand side by side: a phrase is found only as a phrase
        # ("rượu vang" is not in "Rượu nếp cái hoa vàng").
        self._pairs: dict[tuple[str, str], set[int]] = {}
        analysed: dict[str, _Field] = {}  # catalogues repeat places and producers: analyse each text once
        seen_vi: set[tuple[str, bool]] = set()
        post_table, marked_table, pair_table = self._post, self._marked, self._pairs
        for i, doc in enumerate(self.docs):
            names: set[str] = set()
            free: set[str] = set()
            bound: dict[str, set[str]] = {}
            fields = [
                (doc.name_vi, _NAME, True),
                *((a, _NAME, True) for a in doc.aliases),
                (doc.name_en, _NAME, False),
            ]
            fields += [
                (doc.producer, _PRODUCER, True),
                (doc.commune, _PLACE, True),
                (doc.district, _PLACE, True),
            ]
            fields += [(doc.province, _PROVINCE, True)]
            for text, weight, vietnamese in fields:
                if not text:
                    continue
                info = analysed.get(text)
                if info is None:
                    info = analysed[text] = self._analyse(text)
                if vietnamese and (text, True) not in seen_vi:
                    seen_vi.add((text, True))
                    self._syllables.update(info.syllables)
                    self._bigrams.update(info.bigrams)
                for key in info.keys:
                    post = post_table.get(key)
                    if post is None:
                        post = post_table[key] = {}
                    if post.get(i, 0.0) < weight:
                        post[i] = weight
                for key, accent in info.marked:
                    marked_table.setdefault(key, {}).setdefault(accent, set()).add(i)
                if info.inside:
                    for pos, key in enumerate(info.keys):
                        if pos in info.inside:
                            bound.setdefault(key, set()).update(info.inside[pos])
                        else:
                            free.add(key)
                else:
                    free.update(info.keys)
                for pair in info.pairs:
                    pairs = pair_table.get(pair)
                    if pairs is None:
                        pairs = pair_table[pair] = set()
                    pairs.add(i)
                if weight == _NAME:
                    names.update(info.keys)
            for key, partners in bound.items():
                if key not in free:
                    self._bound.setdefault(key, {})[i] = frozenset(partners)
                    self._bound_partners.setdefault(key, set()).update(partners)
            self._name_keys.append(frozenset(names))
            forms = (analysed[x].sorted_words for x in (doc.name_vi, *doc.aliases, doc.name_en) if x)
            self._name_forms.append(tuple(dict.fromkeys(f for f in forms if f)))
        for key, post in self._post.items():
            merged = self._sound_post.setdefault(sound_key(key), {})
            for i, w in post.items():
                if merged.get(i, 0.0) < w:
                    merged[i] = w
        for concept in lex.concepts:
            for p in concept.vi:
                self._bigrams.update(zip(p.key, p.key[1:], strict=False))
        self._known = set(self._post) | lex.words
        # How products mark each word, under the regional spelling rules: a regional spelling must still carry
        # the marks of the word it stands for ("sôi" is "xôi", "sợi" is not).
        self._sound_marked: dict[str, dict[str, set[int]]] = {}
        for key, spellings in self._marked.items():
            table = self._sound_marked.setdefault(sound_key(key), {})
            for accent, docs in spellings.items():
                table.setdefault(sound_accent(accent), set()).update(docs)
        # Every way the catalogue and the lexicon mark each word, so decoded Telex can be checked against it.
        self._spellings: dict[str, set[str]] = {k: set(v) for k, v in self._marked.items()}
        lexicon_phrases = [p for c in lex.concepts for p in c.vi + c.members]
        lexicon_phrases += [Phrase(k, a, True) for k, variants in lex.scaffolding.items() for a in variants]
        for phrase in lexicon_phrases:
            for k, a in zip(phrase.key, phrase.accents, strict=False):
                if a is not None:
                    self._spellings.setdefault(k, set()).add(a)
        self._fuzzy_vocab = sorted(
            {k for k in self._post if len(k) >= 2 and k.isalpha()}
            | {k[0] for k in lex.concept_index if len(k) == 1 and len(k[0]) >= 3}
        )
        # Place spellings → (place, the spelling's marks); one-syllable names are places only after "xã", "TT"...
        self._places: dict[Key, tuple[_Place, tuple[str | None, ...]]] = {}
        self._sound_places: dict[Key, tuple[_Place, tuple[str | None, ...]]] = {}
        self._prefixed_places: dict[Key, tuple[_Place, tuple[str | None, ...]]] = {}
        self._build_places()
        self._longest_place = max((len(k) for k in self._places), default=1)
        self._free_post: dict[str, dict[int, float]] = self._build_free_post(analysed)
        self._token_cache: dict[tuple[str, str], list[_Alt]] = {}
        self._resolve_cache: dict[Token, list[Token]] = {}
        self._mismatch_cache: dict[tuple[str, str, bool], frozenset[int]] = {}
        self._named_cache: dict[str, set[int]] = {}
        self._reach_cache: dict[Key, set[int]] = {}
        self._excluded_cache: dict[Key, frozenset[int]] = {}
        self._map_cached = 0
        self._map_cache: OrderedDict[tuple[tuple[_Alt, ...], float, frozenset[str]], dict[int, float]] = (
            OrderedDict()
        )
        # Known multi-word phrases the catalogue has, by regional-spelling key and with one word blanked out,
        # to recognise them misspelt. (A misspelling of a phrase the catalogue lacks finds nothing either way.)
        sold = [k for k in lex.concept_index if len(k) >= 2 and self._phrase_docs(k)]
        self._sound_phrases: dict[Key, Key] = {}
        for phrase in sold:
            self._sound_phrases.setdefault(tuple(sound_key(k, finals=True) for k in phrase), phrase)
        self._phrase_holes: dict[Key, list[Key]] = {}
        for phrase in sold + [k for k in self._places if len(k) >= 2]:
            for j in range(len(phrase)):
                hole = (*phrase[:j], "", *phrase[j + 1 :])
                self._phrase_holes.setdefault(hole, []).append(phrase)

    def __len__(self) -> int:
        return len(self.docs)

    def _build_free_post(self, analysed: Mapping[str, _Field]) -> dict[str, dict[int, float]]:
        """Postings of the scaffolding words the catalogue also has (`my`, `ban`, `the`), read as product words:
        only the products where the word stands on its own, not only inside a place name of several words
        ("Yên Thế") or an opaque compound ("phu thê", "men lá")."""
        words = {k[0] for k in self.lexicon.scaffolding if len(k) == 1 and k[0] in self._post}
        names = self._place_names()
        longest = max(map(len, names), default=0)
        placed = {k for name in names for k in name} & words
        out: dict[str, dict[int, float]] = {}
        for word in words:
            post = self._post[word]
            drop = set(self._bound.get(word, ()))
            if word in placed:
                for d in post.keys() - drop:
                    doc = self.docs[d]
                    texts = (doc.name_vi, *doc.aliases, doc.name_en, doc.producer, doc.commune, doc.district)
                    if not any(
                        k == word and not _inside(keys, pos, names, longest)
                        for keys in (analysed[t].keys for t in texts if t)
                        for pos, k in enumerate(keys)
                    ):
                        drop.add(d)
            out[word] = {d: w for d, w in post.items() if d not in drop} if drop else post
        return out

    def _place_names(self) -> set[Key]:
        """The catalogue's place names of two words or more, without prefix ("Yên Thế", "Lục Ngạn")."""
        values = {v for doc in self.docs for v in (doc.commune, doc.district, doc.province) if v}
        keys = (self._strip_prefix(phrase_key(v)) for v in values)
        return {k for k in keys if len(k) >= 2}

    def _analyse(self, text: str) -> _Field:
        toks = tokenize(text)
        keys = [english_stem(t.folded) for t in toks]
        # A token's raw form folds to one ASCII word, so a non-ASCII raw form is one written with marks.
        accents = [None if t.raw.isascii() else accent_key(t.raw) for t in toks]
        syllables = [t.folded for t in toks if t.folded.isalpha()]
        return _Field(
            keys=keys,
            marked=[(k, a) for k, a in zip(keys, accents, strict=True) if a is not None],
            pairs=list(zip(keys, keys[1:], strict=False)),
            inside=self._compound_spans(keys),
            syllables=syllables,
            bigrams=list(zip(syllables, syllables[1:], strict=False)),
            sorted_words=" ".join(sorted(t.folded for t in toks)),
        )

    def _compound_spans(self, keys: list[str]) -> dict[int, set[str]]:
        """Positions of `keys` that sit inside an opaque compound, each with the compound's other words."""
        out: dict[int, set[str]] = {}
        if not self._compounds or len(keys) < 2:
            return out
        for start in range(len(keys) - 1):
            if keys[start] not in self._compound_heads:
                continue
            for length in range(2, min(5, len(keys) - start) + 1):
                span = tuple(keys[start : start + length])
                if span in self._compounds:
                    for pos in range(start, start + length):
                        out.setdefault(pos, set()).update(k for k in span if k != keys[pos])
        return out

    # ------------------------------------------------------------------------------------- places

    def _strip_prefix(self, key: Key) -> Key:
        for n in (2, 1):
            if len(key) > n and key[:n] in self.lexicon.place_prefixes:
                return key[n:]
        return key

    def _add_place(self, place: _Place, spelling: str) -> None:
        key = phrase_key(spelling)
        accents = phrase_accents(spelling)
        stripped = self._strip_prefix(key)
        for k in {key, stripped}:
            if not k:
                continue
            marks = accents[len(key) - len(k) :]
            table = self._places if len(k) >= 2 else self._prefixed_places
            table.setdefault(k, (place, marks))
            if len(k) >= 2:
                self._sound_places.setdefault(tuple(sound_key(x, finals=True) for x in k), (place, marks))

    def _build_places(self) -> None:
        # Facets for slices and narrowing: (kind, place key) → products; category → products; stars → products.
        self._facet: dict[tuple[str, Key], set[int]] = {}
        self._by_category: dict[str, set[int]] = {}
        self._by_stars: dict[int, set[int]] = {}
        keys: dict[str, Key] = {}
        for d, doc in enumerate(self.docs):
            for kind in ("province", "district", "commune"):
                value = getattr(doc, kind)
                if value:
                    if value not in keys:
                        keys[value] = self._strip_prefix(phrase_key(value))
                    self._facet.setdefault((kind, keys[value]), set()).add(d)
            self._by_category.setdefault(doc.category, set()).add(d)
            if doc.stars is not None:
                self._by_stars.setdefault(doc.stars, set()).add(d)
        # Slices list the best-rated first, then in catalogue order (the department lists flagships first).
        self._stars = [doc.stars or 0 for doc in self.docs]
        self._tiebreak = [stars * 1e-3 - d * 1e-10 for d, stars in enumerate(self._stars)]
        self._ranked = sorted(range(len(self.docs)), key=lambda d: (-self._stars[d], d))
        self._rank_of = {d: r for r, d in enumerate(self._ranked)}
        by_value: dict[str, _Place] = {}
        # Provinces first, then districts, then communes: when "Bắc Giang" could be the province or
        # "TP Bắc Giang" without its prefix, the wider reading wins unless the buyer wrote the prefix.
        for kind in ("province", "district", "commune"):
            for doc in self.docs:
                value = getattr(doc, kind)
                if not value or value in by_value:
                    continue
                key = phrase_key(value)
                place = _Place(kind, value, self._strip_prefix(key))
                by_value[value] = place
                self._add_place(place, value)
        for value, spellings in self.lexicon.place_aliases.items():
            place = by_value.get(value)
            if place is None:
                continue
            for spelling in spellings:
                self._add_place(place, spelling)

    def _match_place(self, q: _Query, i: int) -> tuple[_Place, int] | None:
        """The place named at position i (with or without a prefix word) and how many tokens it takes.

        Marks the buyer typed must fit the place's ("bán đông" is not "bản Đông"); a regional spelling
        ("nục nam" for "Lục Nam") only needs its tones to fit.
        """
        keys, marked, sounds = q.keys, q.marked, q.sounds
        prefixes = self.lexicon.place_prefixes
        # Unprefixed first, so a spelling that includes its prefix ("TP Bắc Giang") beats the bare name after it
        # ("Bắc Giang", the province); then the names that are only places when a prefix says so ("TT Chũ").
        starts = [(i, False)]
        for n in (2, 1):
            variants = prefixes.get(tuple(keys[i : i + n]))
            if variants and i + n < len(keys) and any(_marks_fit(marked, i, a) for a in variants):
                starts.append((i + n, True))
                break
        for start, prefixed in starts:
            for n in range(min(self._longest_place, len(keys) - start), 0, -1):
                found: tuple[_Place, tuple[str | None, ...]] | None = None
                tones_only = False
                if n >= 2:
                    found = self._places.get(tuple(keys[start : start + n]))
                    if found is None:
                        found = self._sound_places.get(tuple(sounds[start : start + n]))
                        tones_only = True
                elif prefixed:
                    found = self._prefixed_places.get((keys[start],))
                if found is not None and _marks_fit(marked, start, found[1], tones_only):
                    return found[0], start + n - i
        return None

    # ------------------------------------------------------------------------------- token resolution

    def _resolve(self, tok: Token) -> list[Token]:
        """Telex/VNI leftovers decoded, words run together split, letters glued to digits separated."""
        cached = self._resolve_cache.get(tok)
        if cached is not None:
            return cached
        out = self._resolve_uncached(tok)
        if len(self._resolve_cache) > 50_000:
            self._resolve_cache.clear()
        self._resolve_cache[tok] = out
        return out

    def _resolve_uncached(self, tok: Token) -> list[Token]:
        f = tok.folded
        if english_stem(f) in self._known or f.isdigit():
            return [tok]
        if tok.raw.isascii():
            decoded = decode_keystrokes(f)
            # Accepted only as a word the catalogue or lexicon writes with that tone: "taxi" spells "tãi",
            # but no product has a "tãi", so it stays an (unknown) English word.
            if decoded:
                plain = tone_only(decoded)
                typed = accent_key(plain)
                if any(_accent_fits(typed, w) for w in self._spellings.get(fold(decoded), ())):
                    return [Token(plain, fold(decoded))]
        if not f.isalpha() and not f.isdigit():
            out: list[Token] = []
            for part in _LETTERS_DIGITS.findall(f):
                out.extend(self._resolve(Token(part, part)))
            return out
        pieces = self._segment(f)
        if pieces:
            return [Token(p, p) for p in pieces]
        return [tok]

    def _segment(self, word: str) -> list[str] | None:
        """Split words typed together (`matong`) into catalogue syllables that follow each other in the catalogue."""
        n = len(word)
        if not 4 <= n <= 28:
            return None
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            path = best[i]
            if path is None:
                continue
            for j in range(i + 2, min(n, i + 7) + 1):
                piece = word[i:j]
                if piece not in self._syllables:
                    continue
                if path and (path[-1], piece) not in self._bigrams:
                    continue
                cur = best[j]
                if cur is None or len(path) + 1 < len(cur):
                    best[j] = [*path, piece]
        result = best[n]
        return result if result and len(result) >= 2 else None

    # ------------------------------------------------------------------------------------ alternatives

    def _concept_alts(self, key: Key, typed_vi: bool, q: float) -> list[_Alt]:
        alts: list[_Alt] = []
        for idx, is_vi in self.lexicon.concept_index.get(key, ()):
            concept = self.lexicon.concepts[idx]
            # A Vietnamese word stands for its Vietnamese variants; an English word for both languages
            # (products have Vietnamese names; English names alone would miss most of the catalogue).
            phrases: tuple[Phrase, ...] = concept.vi if (is_vi and typed_vi) else concept.vi + concept.en
            phrases += concept.members
            for p in phrases:
                # The phrase itself as the lexicon writes it, too: within a known phrase a wrong mark is
                # more likely a slip than another word ("mật ong rưng").
                alts.append(_Alt(p.key, q * _LEXICON_ALT, p.accents))
        return [a for a in alts if a.key != key or any(a.accents)]

    def _token_alts(self, key: str, accent: str | None) -> list[_Alt]:
        """How one product word of the query may appear in a product: exactly, by regional spelling, by typo."""
        cache_key = (key, accent or "")
        cached = self._token_cache.get(cache_key)
        if cached is not None:
            return cached
        alts = [_Alt((key,), 1.0, (accent,))]
        in_catalogue = key in self._post
        sk = sound_key(key)
        if sk in self._sound_post:
            # The sound key's postings hold the other spellings too (`tra` under `cha`), so always look;
            # the buyer's marks still apply, under the same rules (`trè` fits `chè`, `sợi` no `xôi`).
            marks = sound_accent(accent) if accent else None
            alts.append(_Alt((sk,), 0.7 if in_catalogue else 0.9, (marks,), sound=True))
        swapped = other_final(key)
        if swapped is not None and sound_key(swapped) in self._sound_post:
            # The south's -n/-ng and -c/-t ("mật on", "trà hoa cút"): a weak reading, found only beside other
            # words, as so many real words differ just there (cút, quail; sắt, iron; hồn, soul).
            base = other_final(accent[:-1]) if accent else None
            marks = sound_accent(base + accent[-1]) if accent and base else None
            q = _FINAL_SWAP_KNOWN if in_catalogue else _FINAL_SWAP
            alts.append(_Alt((sound_key(swapped),), q, (marks,), sound=True))
        if not in_catalogue and len(alts) == 1 and key.isalpha():
            # A word the lexicon knows but the catalogue lacks (bia, cà phê) is most likely what it says,
            # not a typo of some catalogue word: its fuzzy matches count for half.
            damp = 0.5 if key in self.lexicon.words else 1.0
            for cand, q in self._fuzzy(key):
                if not self._could_be_typo(accent, cand):
                    continue
                if cand in self._post:
                    alts.append(_Alt((cand,), q * damp, (None,)))
                if len(key) >= 5:  # "lichee" → lychee's translations; "hao" → "ham" would be noise
                    alts.extend(self._concept_alts((cand,), False, q * damp))
        if len(self._token_cache) > 50_000:
            self._token_cache.clear()
        self._token_cache[cache_key] = alts
        return alts

    def _could_be_typo(self, typed: str | None, word: str) -> bool:
        """Could a word typed with these marks be a slip for `word`, whose letters differ?

        A well-formed syllable typed with marks is taken for a typo only of a word marked the same way (same
        tone and letter marks: `rượi` for `rượu`); with other marks it is a word of its own (`sợi`, thread,
        is no `sớm`). Unmarked words and misspelt syllables (`thiềuu`) may be typos of anything.
        """
        if typed is None or not well_formed(typed[:-1], int(typed[-1])):
            return True
        return any(_same_marks(typed, w) for w in self._spellings.get(word, ()))

    def _fuzzy(self, word: str) -> list[tuple[str, float]]:
        n = len(word)
        if n < 3:
            return []
        max_d = 2 if n >= 7 else 1
        found = process.extract(word, self._fuzzy_vocab, scorer=OSA.distance, score_cutoff=max_d, limit=40)
        ranked: list[tuple[float, int, int, int, str]] = []
        letters = sorted(word)
        for cand, d, _ in found:
            if d == 0:
                continue
            q = {3: 0.4, 4: 0.7, 5: 0.7}.get(n, 0.85) if d == 1 else 0.6
            if cand[0] != word[0]:
                q *= 0.8  # first letters are rarely mistyped
            # Among equals: swapped letters (hao→hoa), then a letter missed (huog→huong), then one too many;
            # then the commoner word.
            kind = 0 if sorted(cand) == letters else 1 if len(cand) > n else 2 if len(cand) == n else 3
            ranked.append((-q, kind, -len(self._post.get(cand) or ()), len(ranked), cand))
        ranked.sort()
        return [(cand, -negq) for negq, _k, _f, _i, cand in ranked[:6]]

    # ------------------------------------------------------------------------------------------ parsing

    def _parse(self, query: str) -> _Parsed:
        text = _STAR_SYMBOL.sub(r"\1 sao ", clean(query))
        toks: list[Token] = []
        for t in tokenize(text)[:MAX_QUERY_TOKENS]:
            toks.extend(self._resolve(t))
        toks = toks[:MAX_QUERY_TOKENS]
        keys = [english_stem(t.folded) for t in toks]
        marked = [accent_key(t.raw) if has_marks(t.raw) else None for t in toks]
        out = _Parsed()
        sounds = [sound_key(k, finals=True) for k in keys]
        q = _Query(toks, keys, marked, sounds, [k not in self._known for k in keys])
        i, n = 0, len(toks)
        while i < n:
            i += self._parse_at(q, i, out)
        # A word said twice ("Hảo Hảo", "mật ong mật ong") is one thing asked for, not two.
        seen: set[tuple[str, str]] = set()
        units = []
        for u in out.units:
            if (u.role, u.text) not in seen:
                seen.add((u.role, u.text))
                units.append(u)
        out.units = units
        return out

    def _accent_agrees(self, marked: list[str | None], i: int, accents: tuple[str | None, ...]) -> bool:
        """Do the buyer's marks on tokens i.. fit the lexicon phrase's marks (unmarked on either side fits)?"""
        for k, want in enumerate(accents):
            got = marked[i + k]
            if got is None:
                continue
            # A word typed with marks is not an unmarked (English, abbreviated) lexicon word: "mỳ" is not "my".
            if want is None or not _accent_fits(got, want):
                return False
        return True

    def _parse_at(self, q: _Query, i: int, out: _Parsed) -> int:
        """Read what starts at token i (stars, a place, a phrase, scaffolding, a word); return tokens taken."""
        lex = self.lexicon
        toks, keys, marked, sounds, unknown = q.toks, q.keys, q.marked, q.sounds, q.unknown
        n = len(keys)
        # Stars: "4 sao", "bốn sao", "4-star", "từ 4 sao trở lên", "at least 4 stars".
        before = 0
        for m in (2, 1):
            if tuple(keys[i : i + m]) in lex.at_least_before and i + m + 1 < n:
                before = m
                break
        j = i + before
        if j + 1 < n and keys[j] in lex.star_numbers and (keys[j + 1],) in lex.star_markers:
            value = lex.star_numbers[keys[j]]
            if not (marked[j] and keys[j] == "nam" and marked[j] != accent_key("năm")):
                out.stars = value
                step = before + 2
                for m in (2, 1):
                    if tuple(keys[i + step : i + step + m]) in lex.at_least_after:
                        out.min_stars = True
                        step += m
                        break
                out.min_stars = out.min_stars or before > 0
                return step
        place = self._match_place(q, i)
        longest = min(lex.max_phrase + 2, n - i)
        here = self._concept_length(keys, i)
        for j in range(i + 1, i + here):
            if j + self._concept_length(keys, j) > i + here:
                # A longer known phrase starts inside this one ("gạo | nếp cái hoa vàng"): let it.
                longest = j - i
                break
        for m in range(longest, 0, -1):
            span = tuple(keys[i : i + m])
            words = " ".join(keys[i : i + m])
            if place is not None and place[1] == m:
                self._take_place(place[0], out)
                return m
            if span in lex.elsewhere:
                out.units.append(_Unit(words, _phrase_weight(m), [_Alt(span, 1.0, (None,) * m)], "elsewhere"))
                out.words.extend(span)
                return m
            ruled_out = [x for a, x in lex.without.get(span, ()) if _marks_are(marked[i : i + m], a)]
            if ruled_out:
                # "không cồn", "non-alcoholic": not rượu, and (being said of drinks) the drinks group. Marks
                # must be the phrase's own: "không còn" (no more) is another phrase.
                for x in ruled_out:
                    if x not in out.excluded:
                        out.excluded.append(x)
                    if x.category and x.category not in out.categories:
                        out.categories.append(x.category)
                return m
            if span in lex.categories:
                code = lex.categories[span]
                if code not in out.categories:
                    out.categories.append(code)
                out.units.append(
                    _Unit(words, _phrase_weight(m), [_Alt(span, 1.0, tuple(marked[i : i + m]))], "soft")
                )
                out.words.extend(span)
                return m
            if m >= 2 and span in lex.concept_index:
                self._take_concept(span, span, 1.0, words, marked[i : i + m], out)
                return m
            if span in lex.scaffolding and any(
                self._accent_agrees(marked, i, a) for a in lex.scaffolding[span]
            ):
                if m == 1 and span[0] in self._post and not marked[i]:
                    # Typed without marks, a scaffolding word the catalogue also uses may be part of a name
                    # (`my`: my/mỳ, `ban`: bán/bản, `co`: có/cơ): it counts for a product that has it and
                    # is left out of the sums for one that hasn't.
                    # Not where it is only part of a place name or an opaque compound, though: an English "the"
                    # is no "Thế" of "Yên Thế".
                    out.units.append(_Unit(words, 1.0, [_Alt(span, 1.0, (None,), free=True)], "soft"))
                    out.words.append(span[0])
                elif m >= 2 or span[0] in self._post:
                    out.units.append(
                        _Unit(words, 0.0, [_Alt(span, 1.0, tuple(marked[i : i + m]))], "optional")
                    )
                return m
            if m >= 2:
                # A known phrase in a regional spelling ("trả nụa" for "chả lụa"), or with one word mistyped
                # ("dong trung ha thoa", "luc ngna"): still that phrase.
                spoken = (
                    self._sound_phrases.get(tuple(sounds[i : i + m])) if any(unknown[i : i + m]) else None
                )
                if spoken is not None and self._sounds_fit(marked[i : i + m], spoken):
                    self._take_concept(span, spoken, _NEAR_PHRASE, words, marked[i : i + m], out)
                    return m
                near = (
                    self._near_phrase(span, marked[i : i + m])
                    if unknown[i : i + m].count(True) == 1
                    else None
                )
                if isinstance(near, _Place):
                    self._take_place(near, out)
                    return m
                if near is not None:
                    self._take_concept(span, near, _NEAR_PHRASE, words, marked[i : i + m], out)
                    return m
        # A plain product word; a bare number (10kg, 1 con) that is no star rating says nothing about the product.
        key = keys[i]
        if key.isdigit():
            return 1
        alts = list(self._token_alts(key, marked[i]))
        if (key,) in lex.concept_index and self._tone_fits(marked[i], key):
            alts += self._concept_alts((key,), bool(marked[i]) or self._looks_vietnamese((key,)), 1.0)
        out.units.append(_Unit(toks[i].folded, 1.0, alts, "content"))
        out.words.append(key)
        return 1

    def _tone_fits(self, typed: str | None, key: str) -> bool:
        """Is a word typed with these marks the lexicon's word `key`, as far as its tone goes?

        A letter mark is easily slipped ("ruợu" is still rượu) and a tone forgotten ("bươi"), but a tone typed
        is meant: "mãn" (content) is no "mận".
        """
        if typed is None or typed[-1] == "0":
            return True
        written = [
            p.accents[0]
            for idx, _ in self.lexicon.concept_index[(key,)]
            for p in self.lexicon.concepts[idx].vi
            if p.key == (key,) and p.accents[0] is not None
        ]
        tone = _TONE_CLASS.get(typed[-1], typed[-1])
        return not written or any(_TONE_CLASS.get(w[-1], w[-1]) == tone for w in written)

    def _concept_length(self, keys: list[str], i: int) -> int:
        """Length of the longest lexicon phrase (two words or more) starting at position i, else 0."""
        index = self.lexicon.concept_index
        for m in range(min(self.lexicon.max_phrase, len(keys) - i), 1, -1):
            if tuple(keys[i : i + m]) in index:
                return m
        return 0

    def _take_place(self, place: _Place, out: _Parsed) -> None:
        if place not in out.places:
            out.places.append(place)
        # Also product words: "Na Lục Nam" and "Mỳ Chũ" are named after their places.
        alt = _Alt(place.key, 1.0, (None,) * len(place.key))
        out.units.append(_Unit(" ".join(place.key), _phrase_weight(len(place.key)), [alt], "soft"))
        out.words.extend(place.key)

    def _take_concept(
        self, span: Key, key: Key, q: float, words: str, marks: list[str | None], out: _Parsed
    ) -> None:
        typed_vi = any(marks) or self._looks_vietnamese(key)
        accents = tuple(marks) if key == span else (None,) * len(key)
        alts = [_Alt(key, q, accents), *self._concept_alts(key, typed_vi, q)]
        out.units.append(_Unit(words, _phrase_weight(len(span)), alts, "content"))
        out.words.extend(key)

    def _near_phrase(self, span: Key, marks: list[str | None]) -> Key | _Place | None:
        """A lexicon phrase or place name that `span` spells with one word off by one letter, if just one.

        Only a word neither the catalogue nor the lexicon knows is taken for a typo: "đang" is a word, not
        a misspelt "Đông"; nor is a syllable typed with marks other than the phrase's: "vải sợi" (yarn)
        is not "vải sớm".
        """
        found: list[Key] = []
        for j, word in enumerate(span):
            if len(word) < 3 or word in self._known:
                continue
            pattern = (*span[:j], "", *span[j + 1 :])
            for cand in self._phrase_holes.get(pattern, ()):
                other = cand[j]
                # In a three-letter word a different first letter is a different word ("xèo" is not "dẻo"),
                # unless the two only differ as regional spellings do.
                if len(word) == 3 and sound_key(word)[0] != sound_key(other)[0]:
                    continue
                if not self._could_be_typo(marks[j], other):
                    continue
                if OSA.distance(word, other, score_cutoff=1) <= 1 and cand not in found:
                    found.append(cand)
        if len(found) != 1:
            return None
        entry = self._places.get(found[0])
        return entry[0] if entry is not None else found[0]

    def _sounds_fit(self, marks: list[str | None], phrase: Key) -> bool:
        """Do the marks typed on a phrase in a regional spelling fit the phrase's words under the same rules?"""
        for typed, word in zip(marks, phrase, strict=True):
            spellings = self._spellings.get(word)
            if typed is None or not spellings:
                continue
            mine = sound_accent(typed, finals=True)
            if not any(_accent_fits(mine, sound_accent(w, finals=True)) for w in spellings):
                return False
        return True

    def _looks_vietnamese(self, key: Key) -> bool:
        return all(k in self._syllables for k in key)

    # ------------------------------------------------------------------------------------------ matching

    def _mismatch(self, key: str, typed: str, sound: bool = False) -> frozenset[int]:
        """Products that write `key` with marks, none of which fit the marks the buyer typed.

        With `sound`, `key` is a regional-spelling key and `typed` a `sound_accent`.
        """
        cache_key = (key, typed, sound)
        cached = self._mismatch_cache.get(cache_key)
        if cached is not None:
            return cached
        spellings = (self._sound_marked if sound else self._marked).get(key)
        out: frozenset[int] = frozenset()
        if spellings:
            fits: set[int] = set()
            marked: set[int] = set()
            for written, docs in spellings.items():
                marked |= docs
                if _accent_fits(typed, written):
                    fits |= docs
            out = frozenset(marked - fits)
        if len(self._mismatch_cache) > 50_000:
            self._mismatch_cache.clear()
        self._mismatch_cache[cache_key] = out
        return out

    def _table(self, alt: _Alt) -> dict[str, dict[int, float]]:
        """The postings an alternative is looked up in."""
        return self._sound_post if alt.sound else self._free_post if alt.free else self._post

    def _alt_q(self, alt: _Alt, d: int, qkeys: frozenset[str], penalty: float) -> float:
        """How well one alternative is found in one product (0 if not at all)."""
        table = self._table(alt)
        if len(alt.key) > 1 and d not in self._phrase_docs(alt.key):
            return 0.0
        w = 1.0
        for k in alt.key:
            post = table.get(k)
            fw = post.get(d) if post is not None else None
            if fw is None:
                return 0.0
            if fw < w:
                w = fw
        q = alt.q * w
        if len(alt.key) == 1 and not alt.sound and not alt.free:
            partners = self._bound.get(alt.key[0], {}).get(d)
            if partners is not None and not partners & qkeys:
                q *= _BOUND
        for k, typed in zip(alt.key, alt.accents, strict=True):
            if typed is not None and d in self._mismatch(k, typed, alt.sound):
                # A regional spelling with other marks than the word's is another word ("sợi" is no "xôi").
                return 0.0 if alt.sound else q * penalty
        return q

    def _alt_map(self, alt: _Alt, penalty: float) -> dict[int, float]:
        """Every product where one alternative is found, with its quality there (marks checked)."""
        table = self._table(alt)
        posts = [table.get(k) for k in alt.key]
        if any(p is None for p in posts):
            return {}
        found: dict[int, float]
        if len(posts) == 1:
            found = posts[0]  # type: ignore[assignment]
            if alt.q != 1.0:
                found = {d: w * alt.q for d, w in found.items()}
        else:
            common = self._phrase_docs(alt.key)
            ordered: list[dict[int, float]] = posts  # type: ignore[assignment]
            if len(ordered) == 2:
                first, second = ordered
                found = {d: min(first[d], second[d]) * alt.q for d in common}
            else:
                found = {d: min(p[d] for p in ordered) * alt.q for d in common}
        mismatched: set[int] = set()
        for k, typed in zip(alt.key, alt.accents, strict=True):
            if typed is not None:
                mismatched |= self._mismatch(k, typed, alt.sound)
        hit = mismatched & found.keys() if mismatched else ()
        if hit:
            if found is posts[0]:
                found = dict(found)
            if alt.sound:
                for d in hit:
                    del found[d]
            else:
                for d in hit:
                    found[d] *= penalty
        return found

    def _unit_map(self, unit: _Unit, qkeys: frozenset[str], penalty: float) -> dict[int, float]:
        """Every product where a unit is found, with its best quality there.

        Cached per index: the listing depends only on the unit's alternatives (the lexicon and typo expansion
        of the words) and, for parts of opaque compounds, on which compound partners the query mentions.
        """
        if penalty == _ACCENT_MISMATCH and unit.found is not None:
            return unit.found
        partners: set[str] = set()
        for alt in unit.alts:
            if len(alt.key) == 1 and not alt.sound and not alt.free and alt.key[0] in self._bound_partners:
                partners |= self._bound_partners[alt.key[0]]
        cache_key = (tuple(unit.alts), penalty, frozenset(partners & qkeys))
        found = self._map_cache.get(cache_key)
        if found is not None:
            with contextlib.suppress(KeyError):  # another thread may have evicted it meanwhile
                self._map_cache.move_to_end(cache_key)
        else:
            found = self._merge([m for m in (self._alt_map(a, penalty) for a in unit.alts) if m])
            if partners:
                affected: set[int] = set()
                for alt in unit.alts:
                    if len(alt.key) == 1 and not alt.sound and not alt.free:
                        bound = self._bound.get(alt.key[0], {})
                        affected.update(d for d, words in bound.items() if not words & qkeys)
                hit = affected & found.keys()
                if hit:
                    # Alone, a part of an opaque compound means something else ("sữa" is milk, not star
                    # apple); with the compound's other words in the query it is that compound after all.
                    found = dict(found)
                    for d in hit:
                        found[d] = self._unit_q(unit, d, qkeys, penalty)
            self._map_cache[cache_key] = found
            self._map_cached += len(found)
            while self._map_cached > _MAP_CACHE_ENTRIES and len(self._map_cache) > 1:
                with contextlib.suppress(KeyError):
                    _, evicted = self._map_cache.popitem(last=False)
                    self._map_cached -= len(evicted)
        if penalty == _ACCENT_MISMATCH:
            unit.found = found
        return found

    @staticmethod
    def _merge(maps: list[dict[int, float]]) -> dict[int, float]:
        if not maps:
            return {}
        if len(maps) == 1:
            return maps[0]
        maps.sort(key=len, reverse=True)
        out = dict(maps[0])
        for m in maps[1:]:
            get = out.get
            out.update({d: v for d, v in m.items() if v > get(d, 0.0)})
        return out

    def _unit_q(self, unit: _Unit, d: int, qkeys: frozenset[str], penalty: float = _ACCENT_MISMATCH) -> float:
        best = 0.0
        for alt in unit.alts:
            if alt.q > best:
                q = self._alt_q(alt, d, qkeys, penalty)
                if q > best:
                    best = q
        return best

    def _size(self, alt: _Alt) -> int:
        """How many products an alternative reaches."""
        if len(alt.key) > 1:
            return len(self._phrase_docs(alt.key))
        return len(self._table(alt).get(alt.key[0]) or ())

    def _estimate(self, unit: _Unit) -> int:
        """Roughly how many products a unit's alternatives reach (overlaps counted twice): the cost of listing."""
        return sum(self._size(alt) for alt in unit.alts)

    def _lookup(
        self, unit: _Unit, qkeys: frozenset[str], budget: int
    ) -> dict[int, float] | Callable[[int], float]:
        """A unit's quality per product: a full listing when that is cheap, else a product-by-product lookup."""
        if unit.found is not None or self._estimate(unit) <= budget:
            return self._unit_map(unit, qkeys, _ACCENT_MISMATCH)
        return self._asker(unit, qkeys, _ACCENT_MISMATCH)

    def _asker(self, unit: _Unit, qkeys: frozenset[str], penalty: float) -> Callable[[int], float]:
        """A product → quality function for one unit, its alternatives prepared once (best first)."""
        specs: list[
            tuple[float, list[dict[int, float]], AbstractSet[int], AbstractSet[int], set[int] | None, float]
        ] = []
        for alt in sorted(unit.alts, key=lambda a: -a.q):
            table = self._table(alt)
            posts = [table.get(k) for k in alt.key]
            if any(p is None for p in posts):
                continue
            mismatched: set[int] = set()
            for k, typed in zip(alt.key, alt.accents, strict=True):
                if typed is not None:
                    mismatched |= self._mismatch(k, typed, alt.sound)
            bound: set[int] = set()
            if len(alt.key) == 1 and not alt.sound and not alt.free and alt.key[0] in self._bound:
                bound = {d for d, partners in self._bound[alt.key[0]].items() if not partners & qkeys}
            phrase = self._phrase_docs(alt.key) if len(alt.key) > 1 else None
            off = 0.0 if alt.sound else penalty  # a regional spelling with other marks is another word
            specs.append((alt.q, posts, mismatched, bound, phrase, off))  # type: ignore[arg-type]

        def quality(d: int) -> float:
            best = 0.0
            for q, posts, mismatched, bound, phrase, off in specs:
                if q <= best:
                    break
                if phrase is not None and d not in phrase:
                    continue
                w = 1.0
                for post in posts:
                    fw = post.get(d)
                    if fw is None:
                        w = 0.0
                        break
                    if fw < w:
                        w = fw
                if w:
                    v = q * w
                    if d in bound:
                        v *= _BOUND
                    if d in mismatched:
                        v *= off
                    if v > best:
                        best = v
            return best

        return quality

    def _alt_reach(self, alt: _Alt) -> set[int] | dict[int, float]:
        """The products an alternative is found in (keys only matter)."""
        table = self._table(alt)
        if len(alt.key) == 1:
            return table.get(alt.key[0]) or set()
        return self._phrase_docs(alt.key)

    def _phrase_docs(self, key: Key) -> set[int]:
        """Products where the phrase's words stand side by side (cached: phrases come from the lexicon)."""
        found = self._reach_cache.get(key)
        if found is None:
            sets = [self._pairs.get(pair) for pair in zip(key, key[1:], strict=False)]
            if any(x is None for x in sets):
                found = set()
            else:
                ordered = sorted(sets, key=len)  # type: ignore[arg-type]
                found = set(ordered[0]).intersection(*ordered[1:])  # type: ignore[arg-type]
            if len(self._reach_cache) > 20_000:
                self._reach_cache.clear()
            self._reach_cache[key] = found
        return found

    def _cover(
        self,
        content: list[_Unit],
        soft: list[_Unit],
        qkeys: frozenset[str],
        threshold: float,
        max_candidates: int | None = None,
        within: set[int] | None = None,
    ) -> dict[int, float]:
        """Products whose names cover at least `threshold` of the product words, with that coverage.

        Coverage is (content found + soft found) / (content asked + soft found): soft units (ambiguous words,
        places, product groups) count only where they are found. Equivalently a product passes when
        Σ content w·q + (1 − threshold)·Σ soft w·q ≥ threshold·Σ content w: a sum of per-unit parts, each at
        most its weight times its best alternative's quality. Listing an alternative's products lowers what
        an unlisted product can still reach; the cheapest such listings are made until no unlisted product
        can reach the bar. The listed products are then scored unit by unit, the weightiest first, and
        dropped as soon as what is left cannot lift them over the bar.
        """
        total = sum(u.weight for u in content)
        bar = threshold * total - 1e-9
        parts: list[tuple[_Unit, float, bool, list[tuple[float, int, _Alt]]]] = []
        for u, w, is_soft in [(u, u.weight, False) for u in content] + [
            (u, u.weight * (1.0 - threshold), True) for u in soft
        ]:
            alts = []
            for alt in u.alts:
                size = self._size(alt)
                if size:
                    alts.append((alt.q, size, alt))
            if alts:
                alts.sort(key=lambda a: -a[0])
                parts.append((u, w, is_soft, alts))
        # Each part's ceiling is its weight times the best quality among alternatives not yet listed.
        ceiling = {id(u): w * alts[0][0] for u, w, _s, alts in parts}
        room = sum(ceiling.values())
        if room < bar:
            return {}
        if len(parts) == 1 and not parts[0][2] and not max_candidates:
            # One product word, nothing else: its own listing is the answer (the usual short query).
            # (Words found nowhere were dropped from `parts` but still count in `total`.)
            found = self._unit_map(parts[0][0], qkeys, _ACCENT_MISMATCH)
            need = bar / parts[0][1]  # the quality that reaches the bar
            share = parts[0][1] / total
            keys = found.keys() if within is None else found.keys() & within
            return {d: min(found[d] * share, 1.0) for d in keys if found[d] >= need}
        cursor = {id(u): 0 for u, *_ in parts}
        candidates: set[int] = set()
        while room >= bar:
            # (cost per unit of ceiling removed, part, next cursor)
            best: tuple[float, int, int] | None = None
            for n, (u, w, _s, alts) in enumerate(parts):
                i = cursor[id(u)]
                if i >= len(alts):
                    continue
                q, cost, j = alts[i][0], 0, i
                while j < len(alts) and alts[j][0] == q:  # equal-quality alternatives go together
                    cost += alts[j][1]
                    j += 1
                drop = w * (q - (alts[j][0] if j < len(alts) else 0.0))
                # Either the next quality level, or all that is left of this unit at once.
                options = [(cost / drop, j), (sum(a[1] for a in alts[i:]) / (w * q), len(alts))]
                ratio, stop = min(options)
                if best is None or ratio < best[0]:
                    best = (ratio, n, stop)
            if best is None:
                break
            _, n, j = best
            u, w, _s, alts = parts[n]
            if max_candidates and sum(a[1] for a in alts[cursor[id(u)] : j]) > 10 * max_candidates:
                # Did-you-mean only: a word found in thousands of products suggests nothing in particular.
                break
            for _q, _size, alt in alts[cursor[id(u)] : j]:
                candidates.update(self._alt_reach(alt))
            cursor[id(u)] = j
            room -= ceiling[id(u)]
            ceiling[id(u)] = w * (alts[j][0] if j < len(alts) else 0.0)
            room += ceiling[id(u)]
            if max_candidates and len(candidates) > max_candidates:
                # Enough to choose from (did-you-mean only): keep the first in catalogue order.
                candidates = set(heapq.nsmallest(max_candidates, candidates))
                break
        if within is not None:
            candidates &= within
        acc: dict[int, float] | None = None  # product → Σ parts so far, None until the first part
        lift: dict[int, float] = {}
        parts.sort(key=lambda p: -p[1] * p[3][0][0])
        room = sum(w * alts[0][0] for _u, w, _s, alts in parts)
        listed = {key for key, at in cursor.items() if at > 0}
        for u, w, is_soft, alts in parts:
            room -= w * alts[0][0]
            floor = bar - room
            size = len(candidates) if acc is None else len(acc)
            # A unit whose products were listed anyway is cheapest as a full listing (cached per index).
            budget = self._estimate(u) if id(u) in listed else _LIST_RATIO * size
            look = self._lookup(u, qkeys, budget)
            if acc is None:
                get = look.get if isinstance(look, dict) else look
                acc = {d: v for d in candidates if (v := w * (get(d) or 0.0)) >= floor}
                if is_soft:
                    lift = {d: v / (1.0 - threshold) for d, v in acc.items() if v}
            elif is_soft and isinstance(look, dict):
                # Soft words only ever add: update the products that have them; the bar is checked at the end.
                for d in acc.keys() & look.keys():
                    v = look[d]
                    lift[d] = lift.get(d, 0.0) + u.weight * v
                    acc[d] += w * v
                continue
            elif isinstance(look, dict):
                get = look.get
                acc = {d: v for d, a in acc.items() if (v := a + w * get(d, 0.0)) >= floor}
            else:
                values = {d: look(d) for d in acc}
                if is_soft:
                    for d, v in values.items():
                        if v:
                            lift[d] = lift.get(d, 0.0) + u.weight * v
                acc = {d: v for d, a in acc.items() if (v := a + w * values[d]) >= floor}
            if not acc:
                return {}
        if not acc:
            return {}
        inv = 1.0 / total
        out = {d: (a * inv if a < total else 1.0) for d, a in acc.items() if a >= bar}
        for d, s in lift.items():
            if d in out:
                content_part = acc[d] - (1.0 - threshold) * s  # back from the bar's units to plain coverage
                out[d] = min((content_part + s) / (total + s), 1.0)
        return out

    # ------------------------------------------------------------------------------------------- search

    def search(self, query: str, limit: int = 10) -> SearchAnswer:
        """Answer one buyer query: confident results, or none and some suggestions."""
        query = "" if query is None else str(query)
        limit = max(1, int(limit))
        parsed = self._parse(query)
        content = [u for u in parsed.units if u.role in ("content", "elsewhere")]
        soft = [u for u in parsed.units if u.role == "soft"]
        optional = [u for u in parsed.units if u.role == "optional"]
        filters: dict[str, Any] = {}
        if parsed.stars is not None:
            filters["min_stars" if parsed.min_stars else "stars"] = parsed.stars
        has_filters = parsed.stars is not None or bool(parsed.categories) or bool(parsed.places)
        guessed = not content and bool(soft) and not has_filters
        if guessed:
            # Only ambiguous words (`my`, `ban`): read them as product words after all (but a lone "the" is
            # an English word, not worth a did-you-mean).
            content, soft = [_Unit(u.text, u.weight, u.alts, "content") for u in soft], []
        terms = " ".join(u.text for u in content)
        if not content:
            if not has_filters:
                return SearchAnswer(query, [], [], filters, terms)
            return self._slice(query, parsed, filters, limit)

        # Words the query mentions, typo corrections included: a compound part counts as that compound when
        # its partner is among them ("mat ong hao vai": "hao" → "hoa", so "vải" is in "hoa vải").
        qkeys = frozenset(
            k for u in parsed.units for a in u.alts if not a.sound and len(a.key) == 1 for k in a.key
        )
        # Stars are a hard filter. Places and product groups next to product words narrow the answer when
        # that leaves anything ("vải thiều Lục Ngạn"), and are only a preference otherwise ("gà đồi Lục Ngạn"
        # still finds Yên Thế's): try the narrowest reading first, so most queries score a small set.
        starred = self._starred(parsed)
        excluded = self._excluded(parsed.excluded)
        disliked = self._excluded(parsed.excluded, soft=True)
        scores: dict[int, float] = {}
        for within, applied in self._readings(parsed):
            if starred is not None:
                within = starred if within is None else within & starred
            scores = self._cover(content, soft, qkeys, CONFIDENT, within=within)
            if excluded:
                scores = {d: v for d, v in scores.items() if d not in excluded}
            if disliked and scores.keys() - disliked:
                scores = {d: v for d, v in scores.items() if d not in disliked}
            if scores:
                filters.update(applied)
                break
        if not scores:
            suggestions = [] if guessed else self._suggest(content, soft, qkeys, excluded)
            return SearchAnswer(query, [], suggestions, filters, terms)
        hits = self._rank(scores, optional, soft, parsed, limit, qkeys)
        best = hits[0].score
        results = [h for h in hits if h.score >= best - RESULT_MARGIN][:limit]
        return SearchAnswer(query, results, [], filters, terms)

    def _named(self, key: str) -> set[int]:
        """Products with this word in a name, alias or English name (cached per index)."""
        found = self._named_cache.get(key)
        if found is None:
            found = {d for d, w in self._post.get(key, {}).items() if w >= _NAME}
            self._named_cache[key] = found
        return found

    def _in_places(self, places: list[_Place], named: bool = True) -> set[int]:
        """Products in the places named: any of those of one kind, and all kinds ("Lục Ngạn, Bắc Giang").

        With `named`, a product named after a place belongs to it for a buyer ("Mỳ Chũ" to Chũ, wherever
        its cooperative sits).
        """
        out: set[int] | None = None
        for kind in ("province", "district", "commune"):
            group = [p for p in places if p.kind == kind]
            if not group:
                continue
            found: set[int] = set()
            for p in group:
                found |= self._facet.get((p.kind, p.key), set())
                if named and p.key:
                    found |= set.intersection(*(self._named(k) for k in p.key))
            out = found if out is None else out & found
        return out if out is not None else set()

    def _excluded(self, exclusions: list[Exclusion], soft: bool = False) -> frozenset[int]:
        """Products ruled out (or, with `soft`, ruled out where others are left): those named by the product
        words the exclusions name or by their concepts (names only, not producers)."""
        out: frozenset[int] = frozenset()
        for target in {x.target for x in exclusions if x.soft == soft}:
            found = self._excluded_cache.get(target)
            if found is None:
                alts = [_Alt(target, 1.0, (None,) * len(target)), *self._concept_alts(target, True, 1.0)]
                listed = self._merge([m for m in (self._alt_map(a, _ACCENT_MISMATCH) for a in alts) if m])
                found = frozenset(d for d, q in listed.items() if q >= _LEXICON_ALT * _NAME)
                self._excluded_cache[target] = found
            out |= found
        return out

    def _starred(self, parsed: _Parsed) -> set[int] | None:
        if parsed.stars is None:
            return None
        levels = [n for n in self._by_stars if (n >= parsed.stars if parsed.min_stars else n == parsed.stars)]
        return set().union(*(self._by_stars[n] for n in levels))

    def _readings(self, parsed: _Parsed) -> list[tuple[set[int] | None, dict[str, Any]]]:
        """Candidate restrictions from narrowest to none, each with the filters it amounts to."""
        places = self._in_places(parsed.places) if parsed.places else None
        groups = (
            set().union(*(self._by_category.get(c, set()) for c in parsed.categories))
            if parsed.categories
            else None
        )
        place_filters = _place_filters(parsed.places)
        group_filters = {"category": _one_or_list(parsed.categories)} if parsed.categories else {}
        out: list[tuple[set[int] | None, dict[str, Any]]] = []
        if places is not None and groups is not None:
            out.append((places & groups, {**place_filters, **group_filters}))
        if places is not None:
            out.append((places, place_filters))
        if groups is not None:
            out.append((groups, group_filters))
        out.append((None, {}))
        if parsed.categories and all(c in _KIN for c in parsed.categories):
            # A textile word says what the product is made of: with it "vải" is cloth, and lychee no answer
            # even when the catalogue has no cloth.
            kin = set().union(*(self._by_category.get(k, set()) for c in parsed.categories for k in _KIN[c]))
            out = [(kin if within is None else within & kin, applied) for within, applied in out]
        return out

    def _rank(
        self,
        scores: dict[int, float],
        optional: list[_Unit],
        soft: list[_Unit],
        parsed: _Parsed,
        limit: int,
        qkeys: frozenset[str],
    ) -> list[SearchHit]:
        """Order confident products: coverage first, then extra words found, name closeness, stars."""
        budget = _LIST_RATIO * len(scores)
        bonus: dict[int, float] = {}
        for units, points in ((soft, _SOFT_POINTS), (optional, _OPTIONAL_POINTS)):
            for u in units:
                look = self._lookup(u, qkeys, budget)
                hit = (
                    scores.keys() & look.keys()
                    if isinstance(look, dict)
                    else [d for d in scores if look(d) > 0.0]
                )
                for d in hit:
                    bonus[d] = bonus.get(d, 0.0) + points
        docs = self.docs
        # One float per product so the selection runs in C: coverage and bonus, then stars, then catalogue order.
        tiebreak = self._tiebreak
        keyed = {d: c * 86.0 + tiebreak[d] for d, c in scores.items()}
        for d, b in bonus.items():
            keyed[d] += min(b, _BONUS_CAP)
        top = [d for d, _ in heapq.nlargest(max(RERANK, limit), keyed.items(), key=itemgetter(1))]
        # token_sort_ratio is ratio over sorted words; the products' names were sorted once, at build.
        words = " ".join(sorted(parsed.words))
        hits: list[SearchHit] = []
        for d in top:
            best = process.extractOne(words, self._name_forms[d], scorer=fuzz.ratio)
            sim = best[1] if best else 0.0
            extra = min(bonus.get(d, 0.0), _BONUS_CAP)
            score = 86.0 * scores[d] + 0.08 * sim + extra + 0.3 * (docs[d].stars or 0)
            hits.append(SearchHit(docs[d], round(min(100.0, score), 3)))
        hits.sort(key=lambda h: -h.score)
        return hits

    def _slice(self, query: str, parsed: _Parsed, filters: dict[str, Any], limit: int) -> SearchAnswer:
        """A request for part of the catalogue (`4 sao Lục Ngạn`, `beverages`): every product that fits."""
        if parsed.categories:
            filters["category"] = _one_or_list(parsed.categories)
        if parsed.places:
            filters.update(_place_filters(parsed.places))
        sets: list[set[int]] = []
        if parsed.categories:
            sets.append(set().union(*(self._by_category.get(c, set()) for c in parsed.categories)))
        if parsed.places:
            sets.append(self._in_places(parsed.places, named=False))
        without_stars = set.intersection(*sets) if sets else None
        excluded = self._excluded(parsed.excluded)  # "đồ uống không cồn": drinks, but no rượu
        if excluded and without_stars is not None:
            without_stars = without_stars - excluded
        if parsed.stars is not None:
            levels = [
                n for n in self._by_stars if (n >= parsed.stars if parsed.min_stars else n == parsed.stars)
            ]
            starred: set[int] = set().union(*(self._by_stars[n] for n in levels))
            found = (starred if without_stars is None else starred & without_stars) - excluded
        else:
            found = without_stars if without_stars is not None else set()
        disliked = self._excluded(parsed.excluded, soft=True)  # "healthy drinks": no rượu, if others are left
        if disliked:
            if found - disliked:
                found = found - disliked
            if without_stars and without_stars - disliked:
                without_stars = without_stars - disliked
        results = [SearchHit(self.docs[d], 100.0) for d in self._best_first(found, limit)]
        suggestions: list[SearchHit] = []
        if not results and parsed.stars is not None and without_stars:
            # Nothing at that star level here: offer what the place or group does have.
            suggestions = [
                SearchHit(self.docs[d], 50.0) for d in self._best_first(without_stars, SUGGESTIONS)
            ]
        return SearchAnswer(query, results, suggestions, filters, "")

    def _best_first(self, docs: set[int], limit: int) -> list[int]:
        if len(docs) * 8 < len(self._ranked):
            return heapq.nsmallest(limit, docs, key=self._rank_of.__getitem__)
        out: list[int] = []
        for d in self._ranked:  # dense: walking the global order stops early
            if d in docs:
                out.append(d)
                if len(out) == limit:
                    break
        return out

    def _suggest(
        self,
        content: list[_Unit],
        soft: list[_Unit],
        qkeys: frozenset[str],
        excluded: AbstractSet[int] = frozenset(),
    ) -> list[SearchHit]:
        """Did-you-mean: products that have part of what was asked (typos included via the fuzzy alternatives).

        Either half the words with one of them clearly there ("vải thiều" in "vải thiều Thanh Hà"), or most of
        them, counting marks that disagree as a different word: "đường" (sugar) is no misspelt "Dương".
        """
        loose = self._cover(content, soft, qkeys, 0.5, max_candidates=200)
        picked: list[tuple[int, float]] = []
        total = sum(u.weight for u in content)
        for d, _ in heapq.nlargest(SUGGESTIONS * 4, loose.items(), key=lambda x: (x[1], -x[0])):
            if d in excluded:  # "rượu không cồn": no rượu, not even as a did-you-mean
                continue
            qs = [self._unit_q(u, d, qkeys, _SUGGEST_MISMATCH) for u in content]
            c = sum(u.weight * q for u, q in zip(content, qs, strict=True)) / total
            if c >= 0.6 or (c >= 0.5 and max(qs) >= 0.9):
                picked.append((d, c))
        picked.sort(key=lambda x: (-x[1], self._rank_of[x[0]]))
        return [SearchHit(self.docs[d], round(60.0 * c, 1)) for d, c in picked[:SUGGESTIONS]]


# -------------------------------------------------------------------------------------------------- helpers


def _phrase_weight(words: int) -> float:
    """A phrase the lexicon knows ("đông trùng hạ thảo") is one thing asked for, if a weightier one than a word."""
    return 1.0 + 0.5 * (words - 1)


def _marks_fit(
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
        elif not _accent_fits(got, want):
            return False
    return True


def _accent_fits(typed: str, written: str) -> bool:
    """Typed marks fit written ones when the letters agree and so does the tone.

    A word typed with letter marks but no tone (`đinh`) is taken as toneless, as written with an input
    method; letters typed plain with a tone (`ruou` + nặng, from Telex) are compared on the plain letters,
    tone included; plain letters with no tone fit any tone.
    """
    base = typed[:-1]
    if base == written[:-1]:
        return typed[-1] == written[-1] or (typed[-1] == "0" and base.isascii())
    return base.isascii() and base == fold(written[:-1]) and typed[-1] in ("0", written[-1])


_LETTER_MARKS = frozenset("âêôơăưđ")
_TONE_CLASS = {"4": "3"}  # hỏi and ngã are one tone in the centre and south


def _marks_are(typed: list[str | None], written: tuple[str | None, ...]) -> bool:
    """Are the marks typed (where any were) exactly the phrase's?"""
    return all(t is None or t == w for t, w in zip(typed, written, strict=True))


def _inside(keys: list[str], pos: int, names: AbstractSet[Key], longest: int) -> bool:
    """Is the word at `pos` part of one of these names (of at most `longest` words), written out in full?"""
    for size in range(2, min(longest, len(keys)) + 1):
        for start in range(max(0, pos - size + 1), min(pos, len(keys) - size) + 1):
            if tuple(keys[start : start + size]) in names:
                return True
    return False


def _same_marks(typed: str, written: str) -> bool:
    """Are two accent keys marked alike (same tone; same letter marks, when the buyer typed any)?"""
    if typed[-1] != written[-1]:
        return False
    letters = typed[:-1]
    if letters.isascii():  # decoded Telex: only the tone was meant
        return True
    return sorted(c for c in letters if c in _LETTER_MARKS) == sorted(
        c for c in written[:-1] if c in _LETTER_MARKS
    )


def _place_filters(places: list[_Place]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("province", "district", "commune"):
        values = [p.value for p in places if p.kind == kind]
        if values:
            out[kind] = _one_or_list(values)
    return out


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)
