"""The index proper: postings of every catalogue word, places, facets, built once from the products."""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from collections.abc import Set as AbstractSet
from functools import partial
from itertools import islice
from operator import attrgetter

from catalog.lexicon import Concept, Key, Lexicon, Phrase, default_lexicon, phrase_accents, phrase_key
from catalog.search.gazetteer import towns_of
from catalog.search.memory import gc_paused, release_memory
from catalog.search.model import NAME, PLACE, PRODUCER, PROVINCE, Alt, PlaceName, ProductDoc
from catalog.telex import well_formed
from catalog.text import accent_key, english_stem, piece_tokens, sound_accent, sound_key, word_pieces
from catalog.uses import use_tags

MAX_FULL_NAME = 8  # words: a longer name is not typed out in full
# The build's memos of places (each commune; each district with its province) and of analysed texts (producers,
# aliases, places) are emptied when they reach these many entries. A national catalogue repeats its places and
# producers; the memos are bounded all the same for a catalogue that does not. (Keeping the three together,
# nearly each product's own in a national catalogue, held a third of the build's memory until its end.)
PLACES_MEMO = 16_384
TEXTS_MEMO = 65_536
_NONE: frozenset[str] = frozenset()


class Postings:
    """Lookup tables over the products, built once (a catalogue change builds new ones)."""

    def __init__(self, docs: Iterable[ProductDoc], lexicon: Lexicon | None = None) -> None:
        with gc_paused():  # millions of small objects, no cycles among them
            self.build(docs, lexicon)
        release_memory()

    def build(self, docs: Iterable[ProductDoc], lexicon: Lexicon | None) -> None:
        self.docs: list[ProductDoc] = list(docs)
        self.lexicon = lexicon or default_lexicon()
        lex = self.lexicon
        self.compounds = lex.compounds
        self.compound_heads = {k[0] for k in lex.compounds}
        self.post: dict[str, dict[int, float]] = {}  # word → product → best field weight it appears in
        self.sound_post: dict[str, dict[int, float]] = {}  # the same under regional-spelling keys
        self.marked: dict[
            str, dict[str, Collection[int]]
        ] = {}  # word → how it is marked → products writing it so
        # Words a product has only inside an opaque compound ("sữa" in "vú sữa", "vải" in "mật ong hoa vải"):
        # word → product → the compound's other words.
        self.bound: dict[str, dict[int, frozenset[str]]] = {}
        self.bound_partners: dict[str, set[str]] = {}  # word → every compound partner it has anywhere
        self.name_forms: list[tuple[str, ...]] = []
        # First two words → (every word of a name, product): names of two words or more, as written in the
        # product's name, aliases or English name ("na dai Nghĩa Phương", "Huong Lac rice noodles"). Keyed by
        # two words, not one: in a national catalogue thousands of names start with "bánh" or "mật".
        # (Each name once, with its products: a few hundred bytes a product less than a pair per product.)
        self.full_names: dict[tuple[str, str], dict[Key, Collection[int]]] = {}
        self.syllables: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        # Adjacent words → products where they stand side by side: a phrase is found only as a phrase
        # ("rượu vang" is not in "Rượu nếp cái hoa vàng").
        self.pairs: dict[tuple[str, str], Collection[int]] = {}
        # Catalogues repeat places, producers and aliases: each is analysed once. A product's own name is
        # mostly its own, so it is analysed where it stands and not kept (keeping them all doubled the peak);
        # its words are not: each distinct word is stemmed and its marks read once (`self.words`).
        analysed: dict[str, Field] = {}
        # (Piece of text → its tokens' word, (word, marking) or None when written plain, whether alphabetic,
        # folded form.)
        self.words: dict[str, tuple[tuple[str, tuple[str, str] | None, bool, str], ...]] = {}
        # Scaffolding words inside place names ("Yên Thế"): per product, those it also has standing alone.
        names = self.place_names()
        longest = max(map(len, names), default=0)
        scaffolding = {k[0] for k in lex.scaffolding if len(k) == 1}
        placed = {k for name in names for k in name} & scaffolding
        name_pairs = {pair for name in names for pair in zip(name, name[1:], strict=False)}
        free_placed: dict[int, frozenset[str]] = {}
        kind_of: list[Key] = []
        kinds: dict[Key, Key] = {}
        seen_vi: set[str] = set()
        plain: set[str] = set()  # words written plain in a text with marks: toneless ("phu" of "phu thê")
        named_vi: set[str] = set()  # words of Vietnamese names, producers and places (not aliases, English)
        named_texts: set[str] = set()  # the texts whose words are in named_vi already
        # Word → the products having it in a name, alias or English name (weight NAME), in catalogue order: the
        # few a query word can be found in at its best, so matching a common word can stop early (issue 14).
        self.named_post: dict[str, array[int]] = {}
        # (Filled as defaultdicts, kept as plain dicts: the same keys in the same order.)
        post_table: defaultdict[str, dict[int, float]] = defaultdict(dict)
        named_table: defaultdict[str, array[int]] = defaultdict(partial(array, "i"))
        pair_table: defaultdict[tuple[str, str], array[int]] = defaultdict(partial(array, "i"))
        marked_table = self.marked
        syllables, bigrams, bound_table = self.syllables, self.bigrams, self.bound
        full_names, name_forms = self.full_names, self.name_forms
        marked_flat: defaultdict[tuple[str, str], list[int]] = defaultdict(list)  # (word, marking) → products

        # (Nearby words, position) → is the word there inside a place name written out in full?
        placed_in: dict[tuple[tuple[str, ...], int], bool] = {}

        def standing_alone(f: Field) -> frozenset[str]:
            """The placed scaffolding words standing on their own in a text (not the province's)."""
            if f.alone is None:
                keys = f.keys
                found = []
                last = len(keys) - 1
                for pos, k in enumerate(keys):
                    if k in placed:
                        # Inside a name of two words or more, a word has a neighbour it stands beside in that name.
                        if not (
                            (pos and (keys[pos - 1], k) in name_pairs) or (pos < last and (k, keys[pos + 1]) in name_pairs)
                        ):
                            found.append(k)
                            continue
                        if longest == 2:  # (then the pair is a name)
                            continue
                        # Only the words within a place name's length of it matter, and they repeat ("… Yên Thế").
                        lo = max(0, pos - longest + 1)
                        near = (tuple(keys[lo : pos + longest]), pos - lo)
                        hit = placed_in.get(near)
                        if hit is None:
                            hit = placed_in[near] = inside(list(near[0]), near[1], names, longest)
                        if not hit:
                            found.append(k)
                f.alone = frozenset(found)
            return f.alone

        # A commune, and a district with its province, each worked out once: thousands of products share them
        # (the three together nearly each product its own, in a national catalogue).
        communes: dict[str, Places] = {}
        districts: dict[tuple[str, str], Places] = {}
        nowhere = Places()

        def locate(where: tuple[str, ...], weights: tuple[float, ...], province: int) -> Places:
            """What these place texts add to each product there, as the loop below adds a text (the one at
            `province`, if any, is the province's: its scaffolding words are not looked at)."""
            at = Places()
            for n, (text, weight) in enumerate(zip(where, weights, strict=True)):
                if not text:
                    continue
                f = analysed.get(text)
                if f is None:
                    if len(analysed) >= TEXTS_MEMO:
                        analysed.clear()
                    f = analysed[text] = self.field(text)
                    if f.marks:
                        plain.update(f.plain)
                if placed and n != province and not placed.isdisjoint(f.words):
                    at.alone |= standing_alone(f)
                if text not in named_texts:
                    named_texts.add(text)
                    named_vi.update(f.words)
                if text not in seen_vi:
                    seen_vi.add(text)
                    syllables.update(f.syllables)
                    bigrams.update(zip(f.syllables, f.syllables[1:], strict=False))
                for key in f.words:
                    if key not in at.weights:
                        at.weights[key] = weight
                at.marks.update(f.marks)
                at.fields.append(f)
                for key, partners in f.bound.items():
                    at.bound.setdefault(key, set()).update(partners)
                at.pairs.update(f.pairs)
            return at

        for i, doc in enumerate(self.docs):
            bound: dict[str, set[str]] = {}
            # Each word, marking and pair once per product, in the order first met: the fields come in falling
            # weight (names, producer, places, province), so a word's first field is its best.
            weights: dict[str, float] = {}
            marks: dict[tuple[str, str], None] = {}
            adjacent: dict[tuple[str, str], None] = {}
            fields = (
                [
                    (doc.name_vi, NAME, True),
                    *((a, NAME, True) for a in doc.aliases),
                    (doc.name_en, NAME, False),
                    (doc.producer, PRODUCER, True),
                ]
                if doc.aliases
                else [(doc.name_vi, NAME, True), (doc.name_en, NAME, False), (doc.producer, PRODUCER, True)]
            )
            own: dict[str, Field] = {}  # this product's texts, analysed
            alone: set[str] = set()
            named = 0
            for text, weight, vietnamese in fields:
                if not text:
                    continue
                f = own.get(text) or analysed.get(text)
                if f is None:
                    f = self.field(text)
                    if text != doc.name_vi and text != doc.name_en:
                        if len(analysed) >= TEXTS_MEMO:
                            analysed.clear()
                        analysed[text] = f
                    if f.marks:  # written with marks: its plain words are toneless, not unaccented
                        plain.update(f.plain)
                own[text] = f
                found = f.alone
                if found is None:
                    found = standing_alone(f) if placed and not placed.isdisjoint(f.words) else _NONE
                    f.alone = found
                if found:
                    alone |= found
                if (weight != NAME or text == doc.name_vi) and text not in named_texts:
                    named_texts.add(text)
                    named_vi.update(f.words)
                if vietnamese and text not in seen_vi:
                    seen_vi.add(text)
                    syllables.update(f.syllables)
                    bigrams.update(zip(f.syllables, f.syllables[1:], strict=False))
                if weights:
                    for key in f.words:
                        if key not in weights:
                            weights[key] = weight
                else:
                    weights = dict.fromkeys(f.words, weight)
                marks.update(f.marks)
                if f.bound:
                    for key, partners in f.bound.items():
                        if key in bound:
                            bound[key].update(partners)
                        else:
                            bound[key] = set(partners)
                adjacent.update(f.pairs)
                if weight == NAME:
                    named = len(weights)
            # The places: the commune, then the district and province (each part as the texts one by one).
            if doc.commune:
                commune = communes.get(doc.commune)
                if commune is None:
                    if len(communes) >= PLACES_MEMO:
                        communes.clear()
                    commune = communes[doc.commune] = locate((doc.commune,), (PLACE,), 1)
            else:
                commune = nowhere
            area = (doc.district, doc.province)
            district = districts.get(area)
            if district is None:
                if len(districts) >= PLACES_MEMO:
                    districts.clear()
                district = districts[area] = locate(area, (PLACE, PROVINCE), 1)
            for at in (commune, district):
                for key, weight in at.weights.items():
                    if key not in weights:
                        weights[key] = weight
                marks.update(at.marks)
                for key, partners in at.bound.items():
                    if key in bound:
                        bound[key].update(partners)
                    else:
                        bound[key] = set(partners)
                adjacent.update(at.pairs)
                alone |= at.alone
            for key, weight in weights.items():
                post_table[key][i] = weight
            for key in islice(weights, named):  # (the names' words, with NAME: the first in `weights`)
                named_table[key].append(i)
            # (Products come in order and each marking and pair once a product: their lists are sorted sets.)
            for mark in marks:
                marked_flat[mark].append(i)
            for pair in adjacent:
                pair_table[pair].append(i)
            if bound:  # (seldom: words inside an opaque compound; the words standing free are gathered then)
                free = set().union(
                    *(f.free for f in commune.fields), *(f.free for f in district.fields), *(f.free for f in own.values())
                )
            for key, partners in bound.items():
                if key not in free:
                    bound_table.setdefault(key, {})[i] = frozenset(partners)
                    self.bound_partners.setdefault(key, set()).update(partners)
            if alone:
                free_placed[i] = frozenset(alone)
            kind = tuple(own[doc.name_vi].keys[:1]) if doc.name_vi else ()  # = phrase_key(name)[:1]
            kind_of.append(kinds.setdefault(kind, kind))
            texts = (doc.name_vi, *doc.aliases, doc.name_en) if doc.aliases else (doc.name_vi, doc.name_en)
            for name in {tuple(own[x].keys) for x in texts if x}:
                if 2 <= len(name) <= MAX_FULL_NAME:
                    named = full_names.get((name[0], name[1]))
                    if named is None:
                        named = full_names[(name[0], name[1])] = {}
                    found = named.get(name)
                    if found is None:
                        found = named[name] = array("i")
                    found.append(i)  # type: ignore[attr-defined]
            forms = (own[x].sorted_words for x in texts if x)
            name_forms.append(tuple(dict.fromkeys(f for f in forms if f)))
        self.post = dict(post_table)
        self.named_post = dict(named_table)
        self.pairs = dict(pair_table)  # type: ignore[arg-type]  # (arrays in product order: sorted)
        for (key, accent), marked_docs in marked_flat.items():
            spellings = marked_table.get(key)
            if spellings is None:
                spellings = marked_table[key] = {}
            spellings[accent] = marked_docs
        del marked_flat, named_table, pair_table
        sounds: dict[str, list[dict[int, float]]] = {}
        members: dict[str, list[str]] = {}
        for key, post in self.post.items():
            sk = sound_key(key)
            sounds.setdefault(sk, []).append(post)
            members.setdefault(sk, []).append(key)
        # Regional-spelling key → the words it stands for (their postings merged into sound_post's).
        self.sound_keys: dict[str, tuple[str, ...]] = {sk: tuple(keys) for sk, keys in members.items()}
        del members
        for sk, posts in sounds.items():
            if len(posts) == 1:  # most words have no regional twin: share their postings, not a copy
                self.sound_post[sk] = posts[0]
                continue
            merged = self.sound_post[sk] = {}
            for post in posts:
                for i, w in post.items():
                    if merged.get(i, 0.0) < w:
                        merged[i] = w
        for concept in lex.concepts:
            for p in concept.vi:
                self.bigrams.update(zip(p.key, p.key[1:], strict=False))
        self.known = set(self.post) | lex.words
        # Words that can name a product: the catalogue's, and the lexicon's product words, product groups and
        # places (not its question, politeness, need or price words: "sếp" of "biếu sếp" names no product).
        # A word of a longer phrase counts only where the lexicon has it alone: "wife" of "husband and wife
        # cake" names no product, nor "thăm" of "tham quan".
        single = [p for c in lex.concepts for p in (*c.vi, *c.members, *c.en) if len(p.key) == 1]
        lexicon_products = {p.key[0] for p in single}
        lexicon_products |= {key[0] for key in (*lex.elsewhere, *lex.categories) if len(key) == 1}
        self.product_words = set(self.post) | lexicon_products
        # How the catalogue and the lexicon's product words mark each word (not its chat words: "hông").
        self.product_spellings: dict[str, set[str]] = {k: set(v) for k, v in self.marked.items()}
        for k in plain:
            self.product_spellings.setdefault(k, set()).add(k + "0")  # written plain: no tone, no letter mark
        for phrase in (p for c in lex.concepts for p in (*c.vi, *c.members)):
            for k, a in zip(phrase.key, phrase.accents, strict=False):
                # A word of a longer phrase spells no catalogue word alone: "mát" of "mát gan" is no "mật", "nhân"
                # of "hạnh nhân" no "nhãn".
                if len(phrase.key) == 1 or k not in self.post:
                    self.product_spellings.setdefault(k, set()).add(a if a is not None else k + "0")
        # English words of English names and aliases that the lexicon does not translate ("wife" of "husband
        # and wife cake", "queen"): never written with marks, no Vietnamese syllable, in no Vietnamese name or
        # producer (brands like "Vifoco" are). They describe more than they name, so a query weighs them as
        # it weighs words nobody listed.
        self.english_only = {
            k
            for k in self.post.keys() - self.marked.keys() - lexicon_products - named_vi
            if k.isalpha() and not (well_formed(k, 0) or well_formed(k, 1))
        }
        # How products mark each word, under the regional spelling rules: a regional spelling must still carry
        # the marks of the word it stands for ("sôi" is "xôi", "sợi" is not).
        self.sound_marked: dict[str, dict[str, Collection[int]]] = {}
        same_sound: dict[str, dict[str, list[Collection[int]]]] = {}
        for key, spellings in self.marked.items():
            table = same_sound.setdefault(sound_key(key), {})
            for accent, docs in spellings.items():
                table.setdefault(sound_accent(accent), []).append(docs)
        for sk, table in same_sound.items():  # one spelling alone shares its set (never changed once built)
            self.sound_marked[sk] = {a: s[0] if len(s) == 1 else set().union(*s) for a, s in table.items()}
        # Every way the catalogue and the lexicon mark each word, so decoded Telex can be checked against it.
        self.spellings: dict[str, set[str]] = {k: set(v) for k, v in self.marked.items()}
        lexicon_phrases = [p for c in lex.concepts for p in c.vi + c.members]
        lexicon_phrases += [Phrase(k, a, True) for k, variants in lex.scaffolding.items() for a in variants]
        for phrase in lexicon_phrases:
            for k, a in zip(phrase.key, phrase.accents, strict=False):
                if a is not None:
                    self.spellings.setdefault(k, set()).add(a)
        self.fuzzy_vocab = sorted(
            {k for k in self.post if len(k) >= 2 and k.isalpha()}
            | {k[0] for k in lex.concept_index if len(k) == 1 and len(k[0]) >= 3}
        )
        # Place spellings → (place, the spelling's marks); one-syllable names are places only after "xã", "TT"...
        self.places: dict[Key, tuple[PlaceName, tuple[str | None, ...]]] = {}
        self.sound_places: dict[Key, tuple[PlaceName, tuple[str | None, ...]]] = {}
        self.prefixed_places: dict[Key, tuple[PlaceName, tuple[str | None, ...]]] = {}
        analysed.clear()  # (kept by the closures above: emptied instead)
        communes.clear()
        districts.clear()
        placed_in.clear()
        del self.words
        self.build_places(kind_of)
        self.longest_place = max((len(k) for k in self.places), default=1)
        self.free_post: dict[str, dict[int, float]] = self.build_free_post(placed, free_placed)
        self.reach_cache: dict[Key, set[int]] = {}
        self.compact()

    def compact(self) -> None:
        """Once built, the products of each spelling of a word become a sorted array of 4-byte ints: ≈4 bytes a
        product instead of ≈30, and a stored index loads each as one block of bytes. They are only read whole
        (by `Matcher.mismatch`, whose sets are cached). (Those of each pair of adjacent words and of each full
        name are filled as such arrays: read whole when a phrase is first looked up, `phrase_docs`.)"""
        arrays: dict[
            int, array[int]
        ] = {}  # a set shared by the spellings and their regional keys stays shared

        def packed(docs: Collection[int]) -> array[int]:
            found = arrays.get(id(docs))
            if found is None:  # (a list is in product order already; a set of several spellings is not)
                found = arrays[id(docs)] = array("i", docs if isinstance(docs, list) else sorted(docs))
            return found

        self.marked = {k: {a: packed(v) for a, v in t.items()} for k, t in self.marked.items()}
        self.sound_marked = {k: {a: packed(v) for a, v in t.items()} for k, t in self.sound_marked.items()}

    def __len__(self) -> int:
        return len(self.docs)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "reach_cache": {}}

    def build_free_post(
        self, placed: AbstractSet[str], free_placed: Mapping[int, AbstractSet[str]]
    ) -> dict[str, dict[int, float]]:
        """Postings of the scaffolding words the catalogue also has (`my`, `ban`, `the`), read as product words:
        only the products where the word stands on its own, not only inside a place name of several words
        ("Yên Thế") or an opaque compound ("phu thê", "men lá"). `placed`: the scaffolding words of place
        names; `free_placed`: per product, those of them it has standing alone in a name, producer or place."""
        words = {k[0] for k in self.lexicon.scaffolding if len(k) == 1 and k[0] in self.post}
        out: dict[str, dict[int, float]] = {}
        for word in words:
            post = self.post[word]
            drop = set(self.bound.get(word, ()))
            if word in placed:
                for d in post.keys() - drop:
                    if word not in free_placed.get(d, ()):
                        drop.add(d)
            out[word] = {d: w for d, w in post.items() if d not in drop} if drop else post
        return out

    def place_names(self) -> set[Key]:
        """The catalogue's place names of two words or more, without prefix ("Yên Thế", "Lục Ngạn")."""
        values = {v for doc in self.docs for v in (doc.commune, doc.district, doc.province) if v}
        keys = (self.strip_prefix(phrase_key(v)) for v in values)
        return {k for k in keys if len(k) >= 2}

    def field(self, text: str) -> Field:
        """A catalogue text analysed for indexing, with what every product having it adds to its own tables."""
        memo = getattr(self, "words", None)  # (during a build)
        if memo is None:
            memo = {}
        keys: list[str] = []
        marks: dict[tuple[str, str], None] = {}
        plain: list[str] = []
        syllables: list[str] = []
        folded: list[str] = []
        for piece in word_pieces(text):
            found = memo.get(piece)  # (a piece has one tokenising)
            if found is None:
                # A token's raw form folds to one ASCII word, so a non-ASCII raw form is one written with marks.
                tokens = []
                for t in piece_tokens(piece):
                    key = english_stem(t.folded)
                    mark = None if t.raw.isascii() else (key, accent_key(t.raw))
                    tokens.append((key, mark, t.folded.isalpha(), t.folded))
                found = memo[piece] = tuple(tokens)
            for key, mark, alpha, folded_word in found:
                keys.append(key)
                if mark is None:
                    plain.append(key)
                else:
                    marks[mark] = None
                if alpha:
                    syllables.append(folded_word)
                folded.append(folded_word)
        folded.sort()
        inside = self.compound_spans(keys)
        free: list[str] = []
        bound: dict[str, set[str]] = {}
        if inside:
            for pos, key in enumerate(keys):
                if pos in inside:
                    bound.setdefault(key, set()).update(inside[pos])
                else:
                    free.append(key)
        else:
            free = keys
        return Field(
            keys,
            tuple(dict.fromkeys(keys)),
            marks,
            plain,
            dict.fromkeys(zip(keys, keys[1:], strict=False)),
            free,
            bound,
            syllables,
            " ".join(folded),
        )

    def compound_spans(self, keys: list[str]) -> dict[int, set[str]]:
        """Positions of `keys` that sit inside an opaque compound, each with the compound's other words."""
        out: dict[int, set[str]] = {}
        if not self.compounds or len(keys) < 2 or self.compound_heads.isdisjoint(keys):
            return out
        for start in range(len(keys) - 1):
            if keys[start] not in self.compound_heads:
                continue
            for length in range(2, min(5, len(keys) - start) + 1):
                span = tuple(keys[start : start + length])
                if span in self.compounds:
                    for pos in range(start, start + length):
                        out.setdefault(pos, set()).update(k for k in span if k != keys[pos])
        return out

    def strip_prefix(self, key: Key) -> Key:
        for n in (2, 1):
            if len(key) > n and key[:n] in self.lexicon.place_prefixes:
                return key[n:]
        return key

    def add_place(self, place: PlaceName, spelling: str, known: bool = True) -> None:
        """A spelling of a place. One `known` well (the catalogue's own, the lexicon's) is also read without its
        prefix ("Chũ" for "TT Chũ") and in its regional spellings ("Nục Nam" for "Lục Nam"); a town's bare name
        only as written ("Phương Sơn" starts with no "phường")."""
        key = phrase_key(spelling)
        accents = phrase_accents(spelling)
        stripped = self.strip_prefix(key) if known else key
        for k in {key, stripped}:
            if not k:
                continue
            marks = accents[len(key) - len(k) :]
            table = self.places if len(k) >= 2 else self.prefixed_places
            table.setdefault(k, (place, marks))
            if len(k) >= 2 and known:
                self.sound_places.setdefault(tuple(sound_key(x, finals=True) for x in k), (place, marks))

    def build_places(self, kind_of: list[Key]) -> None:
        # Facets for slices and narrowing: (kind, place key) → products; category → products; stars → products.
        self.facet: dict[tuple[str, Key], set[int]] = {}
        self.by_category: dict[str, set[int]] = {}
        self.by_use: dict[str, set[int]] = {}
        # What kind of thing each product is, for varied selections: its name's first word ("rượu", "mật").
        self.kind_of: list[Key] = kind_of
        # Needs a whole product group also answers (health: the herbal group), product by product.
        self.by_group_use: dict[str, set[int]] = {}
        need_groups: dict[str, list[str]] = {}
        for tag in use_tags():
            for group in tag.groups:
                need_groups.setdefault(group, []).append(tag.code)
        self.by_stars: dict[int, set[int]] = {}
        facets: dict[tuple[str, str], set[int]] = {}  # (kind, value) → its facet's products
        keys: dict[str, Key] = {}
        kinds = ("province", "district", "commune")
        for d, doc in enumerate(self.docs):
            for kind, value in zip(kinds, (doc.province, doc.district, doc.commune), strict=True):
                if value:
                    products = facets.get((kind, value))
                    if products is None:
                        if value not in keys:
                            keys[value] = self.strip_prefix(phrase_key(value))
                        products = facets[(kind, value)] = self.facet.setdefault((kind, keys[value]), set())
                    products.add(d)
            self.by_category.setdefault(doc.category, set()).add(d)
            for use in doc.uses:
                self.by_use.setdefault(use, set()).add(d)
            for use in need_groups.get(doc.category, ()):
                self.by_group_use.setdefault(use, set()).add(d)
            if doc.stars is not None:
                self.by_stars.setdefault(doc.stars, set()).add(d)
        # Slices list the best-rated first, then in catalogue order (the department lists flagships first).
        self.stars = [doc.stars or 0 for doc in self.docs]
        self.tiebreak = [stars * 1e-3 - d * 1e-10 for d, stars in enumerate(self.stars)]
        self.ranked = sorted(range(len(self.docs)), key=lambda d: (-self.stars[d], d))
        self.rank_of = [0] * len(self.docs)  # product → its place in that order
        for r, d in enumerate(self.ranked):
            self.rank_of[d] = r
        by_value: dict[str, PlaceName] = {}
        # Provinces first, then districts, then communes: when "Bắc Giang" could be the province or
        # "TP Bắc Giang" without its prefix, the wider reading wins unless the buyer wrote the prefix.
        for kind in ("province", "district", "commune"):
            for value in dict.fromkeys(map(attrgetter(kind), self.docs)):
                if not value or value in by_value:
                    continue
                key = phrase_key(value)
                place = PlaceName(kind, value, self.strip_prefix(key))
                by_value[value] = place
                self.add_place(place, value)
        for value, spellings in self.lexicon.place_aliases.items():
            place = by_value.get(value)
            if place is None:
                continue
            for spelling in spellings:
                self.add_place(place, spelling)
        # The towns locals name for their district ("Đồi Ngô" is Lục Nam's); a one-word town ("Vôi") is a place
        # only after a prefix ("TT Vôi"), like a one-word commune; no regional spelling of a town is read ("nha
        # lam" is no Nhã Nam), nor a part of it ("bản Sơn" is no Phương Sơn).
        for province, district in dict.fromkeys((doc.province, doc.district) for doc in self.docs):
            if province and district:
                for town in towns_of(province, district):
                    self.add_place(by_value[district], town, known=False)

    def sold(self, concept: Concept) -> bool:
        """Does some product have one of the concept's phrases ("mật ong" yes, "cà phê" or "almond" no)?"""
        for p in (*concept.vi, *concept.en):
            if len(p.key) == 1:
                if self.post.get(p.key[0]):
                    return True
                continue
            sets = [self.pairs.get(pair) for pair in zip(p.key, p.key[1:], strict=False)]
            if all(sets) and set(sets[0]).intersection(*sets[1:]):  # type: ignore[arg-type]
                return True
        return False

    def phrase_docs(self, key: Key) -> set[int]:
        """Products where the phrase's words stand side by side (cached: phrases come from the lexicon)."""
        found = self.reach_cache.get(key)
        if found is None:
            sets = [self.pairs.get(pair) for pair in zip(key, key[1:], strict=False)]
            if any(x is None for x in sets):
                found = set()
            else:
                ordered = sorted(sets, key=len)  # type: ignore[arg-type]
                found = set(ordered[0]).intersection(*ordered[1:])  # type: ignore[arg-type]
            if len(self.reach_cache) > 20_000:
                self.reach_cache.clear()
            self.reach_cache[key] = found
        return found

    def table(self, alt: Alt) -> dict[str, dict[int, float]]:
        """The postings an alternative is looked up in."""
        return self.sound_post if alt.sound else self.free_post if alt.free else self.post

    def named_keys(self, alt: Alt) -> tuple[str, ...]:
        """The words whose named products (`named_post`) hold every product where this alternative is found in
        a name (for a phrase, those of its first word: a superset)."""
        key = alt.key[0]
        return self.sound_keys.get(key, ()) if alt.sound else (key,)

    def size(self, alt: Alt) -> int:
        """How many products an alternative reaches."""
        if len(alt.key) > 1:
            return len(self.phrase_docs(alt.key))
        return len(self.table(alt).get(alt.key[0]) or ())

    def alt_reach(self, alt: Alt) -> set[int] | dict[int, float]:
        """The products an alternative is found in (keys only matter)."""
        table = self.table(alt)
        if len(alt.key) == 1:
            return table.get(alt.key[0]) or set()
        return self.phrase_docs(alt.key)


class Field:
    """A catalogue text as the build adds it to a product: its words (`keys`) and distinct words (first met
    first), its markings (word, how it is marked) and adjacent pairs (as dicts, merged in order), its words
    written plain, the words standing free or inside an opaque compound (with the compound's other words), its
    syllables, its folded words sorted (for token-sort similarity), and the placed scaffolding words standing
    alone in it (once asked). Places and producers repeat across products: each is worked out once."""

    __slots__ = (
        "keys",
        "words",
        "marks",
        "plain",
        "pairs",
        "free",
        "bound",
        "syllables",
        "sorted_words",
        "alone",
    )

    def __init__(
        self,
        keys: list[str],
        words: tuple[str, ...],
        marks: dict[tuple[str, str], None],
        plain: list[str],
        pairs: dict[tuple[str, str], None],
        free: list[str],
        bound: dict[str, set[str]],
        syllables: list[str],
        sorted_words: str,
    ) -> None:
        self.keys = keys
        self.words = words
        self.marks = marks
        self.plain = plain
        self.pairs = pairs
        self.free = free
        self.bound = bound
        self.syllables = syllables
        self.sorted_words = sorted_words
        self.alone: frozenset[str] | None = None


class Places:
    """What a commune, or a district and its province, add to a product (`Field`'s, merged in that order; the
    words with the weight of the first field having them)."""

    __slots__ = ("weights", "marks", "pairs", "fields", "bound", "alone")

    def __init__(self) -> None:
        self.weights: dict[str, float] = {}
        self.marks: dict[tuple[str, str], None] = {}
        self.pairs: dict[tuple[str, str], None] = {}
        self.fields: list[Field] = []  # (their words standing free are gathered where a product needs them)
        self.bound: dict[str, set[str]] = {}
        self.alone: frozenset[str] = frozenset()


def inside(keys: list[str], pos: int, names: AbstractSet[Key], longest: int) -> bool:
    """Is the word at `pos` part of one of these names (of at most `longest` words), written out in full?"""
    for size in range(2, min(longest, len(keys)) + 1):
        for start in range(max(0, pos - size + 1), min(pos, len(keys) - size) + 1):
            if tuple(keys[start : start + size]) in names:
                return True
    return False
