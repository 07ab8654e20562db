"""Matching: which products each query unit is found in, at what quality, and which cover enough of the query."""

from __future__ import annotations

import contextlib
import heapq
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from catalog.search.marks import accent_fits
from catalog.search.model import ACCENT_MISMATCH, BOUND, LIST_RATIO, MAP_CACHE_ENTRIES, Alt, Unit
from catalog.search.postings import Postings

# A unit as `Matcher.cover` sums it: (unit, weight in the sum, soft?, [(quality, products, alternative), best first]).
Part = tuple[Unit, float, bool, list[tuple[float, int, Alt]]]


# One alternative as `Matcher.asker` asks it: (quality, its words' postings, the products whose marks disagree, the
# products where it is part of a compound → the compound's other words, a phrase's products, the factor for marks,
# per word typed with marks the products that write it so, smallest first, if any word is: `fitting`).
AskSpec = tuple[
    float,
    list[dict[int, float]],
    AbstractSet[int],
    dict[int, frozenset[str]] | None,
    set[int] | None,
    float,
    tuple[frozenset[int], ...] | None,
]

# A listing's key in the matcher's cache: a unit's (its alternatives, the penalty, the compound partners asked),
# an alternative's (it, the penalty), or a phrase's least field weights (its words, regional spelling?, free?).
ListingKey = tuple[tuple[Alt, ...], float, frozenset[str]] | tuple[Alt, float] | tuple[tuple[str, ...], bool, bool]


class Matcher:
    """Finds and scores the products a parsed query covers, against one Postings (with its own caches)."""

    def __init__(self, ix: Postings) -> None:
        self.ix = ix
        self.mismatch_cache: dict[tuple[str, str, bool], frozenset[int]] = {}
        self.fit_cache: dict[tuple[str, str, bool], frozenset[int]] = {}
        self.map_cached = 0
        # Listings made, least recently used first: a unit's (its alternatives, the penalty, the compound partners
        # asked) and an alternative's that took a pass over its products (it, the penalty). Queries share them:
        # "dong trung ha thao", "cordyceps" and "đông trùng hạ thảo" all list the phrase.
        self.map_cache: OrderedDict[ListingKey, dict[int, float]] = OrderedDict()

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "mismatch_cache": {}, "fit_cache": {}, "map_cached": 0, "map_cache": OrderedDict()}

    def mismatch(self, key: str, typed: str, sound: bool = False, exact: bool = False) -> frozenset[int]:
        """Products that write `key` with marks, none of which fit the marks the buyer typed.

        With `sound`, `key` is a regional-spelling key and `typed` a `sound_accent`. With `exact`, also the
        products that write it plain when the buyer typed a tone or letter mark ("Khánh Hòa" vs "Khánh Hoa").
        """
        fits_plain = not exact or (typed[:-1].isascii() and typed[-1] == "0")
        cache_key = (key, typed, sound, fits_plain)
        cached = self.mismatch_cache.get(cache_key)
        if cached is not None:
            return cached
        spellings = (self.ix.sound_marked if sound else self.ix.marked).get(key)
        out: frozenset[int] = frozenset()
        if spellings:
            # The products of the other spellings, less those that also write a fitting one. The spellings'
            # products are sorted arrays (Postings.compact), and the fitting spelling is usually the biggest:
            # a few products are looked up in it rather than all of it made a set.
            other: set[int] = set()
            fitting: list[Sequence[int]] = []
            for written, docs in spellings.items():
                if accent_fits(typed, written):
                    fitting.append(docs)  # type: ignore[arg-type]
                else:
                    other.update(docs)
            for docs in fitting if other else ():
                if len(other) * 16 < len(docs):
                    other = {d for d in other if not _holds(docs, d)}
                else:
                    other.difference_update(docs)
            out = frozenset(other)
        if not fits_plain:
            written_plain = (self.ix.sound_post if sound else self.ix.post).get(key, {}).keys() - {
                d for docs in (spellings or {}).values() for d in docs
            }
            out = out | written_plain
        if len(self.mismatch_cache) > 50_000:
            self.mismatch_cache.clear()
        self.mismatch_cache[cache_key] = out
        return out

    def fitting(self, alt: Alt, key: str, typed: str) -> frozenset[int] | None:
        """The products that write `key` (a word of `alt`) with the letters the buyer typed with letter marks ("nấm":
        not "nam" of Sâm nam; "mâm": not "mắm"), or, in a chat message (`Alt.tones`), with the tone typed too; None
        where the buyer typed no such mark, or for a regional spelling or an exact name (`mismatch` checks those). A
        product the word is found in that is not among them writes another word: not found at all. (The fitting ones,
        not the others: a common syllable at national size has thousands of products.)"""
        base, tones = typed[:-1], alt.tones
        if alt.sound or alt.exact or (base.isascii() and not (tones and typed[-1] != "0")):
            return None
        cache_key = (key, typed, tones)
        out = self.fit_cache.get(cache_key)
        if out is None:
            out = frozenset(
                d
                for written, docs in (self.ix.marked.get(key) or {}).items()
                if (accent_fits(typed, written) if tones else written[:-1] == base)
                for d in docs
            )
            if len(self.fit_cache) > 4096:
                self.fit_cache.clear()
            self.fit_cache[cache_key] = out
        return out

    def alt_q(self, alt: Alt, d: int, qkeys: frozenset[str], penalty: float) -> float:
        """How well one alternative is found in one product (0 if not at all)."""
        table = self.ix.table(alt)
        if len(alt.key) > 1 and d not in self.ix.phrase_docs(alt.key):
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
            partners = self.ix.bound.get(alt.key[0], {}).get(d)
            if partners is not None and not partners & qkeys:
                q *= BOUND
        for k, typed in zip(alt.key, alt.accents, strict=True):
            if typed is None:
                continue
            if (fit := self.fitting(alt, k, typed)) is not None and d not in fit:
                return 0.0
            if d in self.mismatch(k, typed, alt.sound, alt.exact):
                # A regional spelling with other marks than the word's is another word ("sợi" is no "xôi").
                return 0.0 if alt.sound or alt.exact else q * penalty
        return q

    def alt_map(self, alt: Alt, penalty: float) -> dict[int, float]:
        """Every product where one alternative is found, with its quality there (marks checked).

        One pass over its products: those whose marks disagree are dropped (a regional spelling, a place's
        exact marks) or scaled by `penalty` as they are copied, not deleted afterwards (a regional spelling
        of a common word, "nong" for "nón", has tens of thousands of products, most of them other words).
        """
        table = self.ix.table(alt)
        posts = [table.get(k) for k in alt.key]
        if any(p is None for p in posts):
            return {}
        cache_key = (alt, penalty)
        found = self.recall(cache_key)
        if found is None:
            found = self.listing(alt, posts, penalty)  # type: ignore[arg-type]
            if found is not posts[0]:  # (a word's own postings, as they are, cost nothing to find again)
                self.remember(cache_key, found)
        return found

    def listing(self, alt: Alt, posts: list[dict[int, float]], penalty: float) -> dict[int, float]:
        """`alt_map`'s pass over the products of an alternative's words (`posts`, none empty)."""
        weights = posts[0] if len(posts) == 1 else self.phrase_weights(alt, posts)
        q = alt.q
        scaled = len(posts) > 1 or q != 1.0  # (a word's own postings at quality 1 are shared, not copied)
        # The products listed whose marks disagree: each word's such products (thousands for "đông", "ha") met
        # with those listed, not merged into one set first.
        mismatched: AbstractSet[int] = frozenset()
        for k, typed in zip(alt.key, alt.accents, strict=True):
            if typed is not None:
                if (fit := self.fitting(alt, k, typed)) is not None:
                    # Written with other letters than typed: another word, not found ("nấm" in "Sâm nam").
                    if len(fit) < len(weights):
                        weights = {d: w for d in fit if (w := weights.get(d)) is not None}
                    else:
                        weights = {d: w for d, w in weights.items() if d in fit}
                    scaled = True
                other = self.mismatch(k, typed, alt.sound, alt.exact)
                if other:
                    found_other = (
                        other.intersection(weights) if len(weights) <= len(other) else weights.keys() & other
                    )
                    mismatched = found_other if not mismatched else mismatched | found_other
        if not mismatched:
            return {d: w * q for d, w in weights.items()} if scaled else weights
        if alt.sound or alt.exact:
            if scaled:
                return {d: w * q for d, w in weights.items() if d not in mismatched}
            if len(mismatched) * 2 > len(weights):
                return {d: w for d, w in weights.items() if d not in mismatched}
            kept = dict(weights)  # (copied whole, in C, and the few that disagree taken out)
            for d in mismatched:
                del kept[d]
            return kept
        if scaled:
            return {d: w * q * penalty if d in mismatched else w * q for d, w in weights.items()}
        out = dict(weights)  # (copied whole, in C, and those that disagree lowered)
        out.update({d: weights[d] * penalty for d in mismatched})
        return out

    def phrase_weights(self, alt: Alt, posts: list[dict[int, float]]) -> dict[int, float]:
        """The products where a phrase's words stand side by side, with the least field weight of its words there.
        Kept with the listings: a phrase is listed again at other qualities and marks ("đông trùng hạ thảo" typed,
        read from "cordyceps" at 0.85, from a typo at 0.81)."""
        cache_key = (alt.key, alt.sound, alt.free)
        weights = self.recall(cache_key)
        if weights is None:
            common = self.ix.phrase_docs(alt.key)
            # The least field weight of the phrase's words (a pass per word: no call per product).
            first, second = posts[0], posts[1]
            weights = {d: a if (a := first[d]) <= (b := second[d]) else b for d in common}
            for post in posts[2:]:
                weights = {d: a if a <= (b := post[d]) else b for d, a in weights.items()}
            self.remember(cache_key, weights)
        return weights

    def unit_map(self, unit: Unit, qkeys: frozenset[str], penalty: float) -> dict[int, float]:
        """Every product where a unit is found, with its best quality there.

        Cached per index: the listing depends only on the unit's alternatives (the lexicon and typo expansion
        of the words) and, for parts of opaque compounds, on which compound partners the query mentions.
        """
        if penalty == ACCENT_MISMATCH and unit.found is not None:
            return unit.found
        partners: set[str] = set()
        for alt in unit.alts:
            if len(alt.key) == 1 and not alt.sound and not alt.free and alt.key[0] in self.ix.bound_partners:
                partners |= self.ix.bound_partners[alt.key[0]]
        cache_key = (tuple(unit.alts), penalty, frozenset(partners & qkeys))
        found = self.recall(cache_key)
        if found is None:
            found = self.merge(
                [m for m in (self.alt_map(a, penalty) for a in self.listed(unit, penalty)) if m]
            )
            if partners:
                affected: set[int] = set()
                for alt in unit.alts:
                    if len(alt.key) == 1 and not alt.sound and not alt.free:
                        bound = self.ix.bound.get(alt.key[0], {})
                        affected.update(d for d, words in bound.items() if not words & qkeys)
                hit = affected & found.keys()
                if hit:
                    # Alone, a part of an opaque compound means something else ("sữa" is milk, not star
                    # apple); with the compound's other words in the query it is that compound after all.
                    found = dict(found)
                    # (Hundreds of products, say "tao" inside compounds: the alternatives prepared once.)
                    quality = (
                        self.asker(unit, qkeys, penalty)
                        if len(hit) > 64
                        else lambda d: self.unit_q(unit, d, qkeys, penalty)
                    )
                    for d in hit:
                        found[d] = quality(d)
            self.remember(cache_key, found)
        if penalty == ACCENT_MISMATCH:
            unit.found = found
        return found

    def recall(self, key: ListingKey) -> dict[int, float] | None:
        """A listing made before (`map_cache`), now the most recently used."""
        found = self.map_cache.get(key)
        if found is not None:
            with contextlib.suppress(KeyError):  # another thread may have evicted it meanwhile
                self.map_cache.move_to_end(key)
        return found

    def remember(self, key: ListingKey, found: dict[int, float]) -> None:
        """Keep a listing, forgetting the least recently used past MAP_CACHE_ENTRIES products in all."""
        self.map_cache[key] = found
        self.map_cached += len(found)
        while self.map_cached > MAP_CACHE_ENTRIES and len(self.map_cache) > 1:
            with contextlib.suppress(KeyError):
                _, evicted = self.map_cache.popitem(last=False)
                self.map_cached -= len(evicted)

    def listed(self, unit: Unit, penalty: float) -> list[Alt]:
        """A unit's alternatives whose listings can raise its best quality somewhere: not one looked up in the
        very postings of another that reaches every product of them at least as well (a regional spelling or a
        synonym that is the same word: "dong" read as "dong" at 0.7). Listing those cost a pass over thousands
        of products for nothing."""
        alts = unit.alts
        if len(alts) < 2:
            return alts
        if len(set(alts)) < len(alts):  # one alternative reached twice (two concepts name it): listed once
            alts = list(dict.fromkeys(alts))
        posts = [self.ix.table(a).get(a.key[0]) if len(a.key) == 1 else None for a in alts]
        # The quality an alternative has at least in every product of its postings (marks that disagree
        # lower it; a regional spelling or a place's exact marks drop products instead).
        floors = [
            -1.0 if a.sound or a.exact else a.q * penalty if any(x is not None for x in a.accents) else a.q
            for a in alts
        ]
        out: list[Alt] = []
        for n, (alt, post) in enumerate(zip(alts, posts, strict=True)):
            if post is not None and any(
                other is post and (alt.q < floor or (alt.q == floor and m < n))
                for m, (other, floor) in enumerate(zip(posts, floors, strict=True))
                if m != n
            ):
                continue
            out.append(alt)
        return out

    @staticmethod
    def merge(maps: list[dict[int, float]]) -> dict[int, float]:
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

    def unit_q(self, unit: Unit, d: int, qkeys: frozenset[str], penalty: float = ACCENT_MISMATCH) -> float:
        best = 0.0
        for alt in unit.alts:
            if alt.q > best:
                q = self.alt_q(alt, d, qkeys, penalty)
                if q > best:
                    best = q
        return best

    def reaches(self, unit: Unit, qkeys: frozenset[str], quality: float = 0.0) -> bool:
        """Is a unit found in some product at least this well (a typo or marks that disagree count less)?"""
        if not any(alt.q >= quality and size for alt, size in zip(unit.alts, self.sizes(unit), strict=True)):
            return False
        found = self.unit_map(
            unit, qkeys, ACCENT_MISMATCH
        )  # the query's own words: the listing is kept on the unit
        return bool(found) and max(found.values()) >= quality

    def sizes(self, unit: Unit) -> list[int]:
        """How many products each of a unit's alternatives reaches (kept on the unit: asked again and again)."""
        if unit.sizes is None:
            unit.sizes = [self.ix.size(alt) for alt in unit.alts]
        return unit.sizes

    def estimate(self, unit: Unit) -> int:
        """Roughly how many products a unit's alternatives reach (overlaps counted twice): the cost of listing."""
        return sum(self.sizes(unit))

    def lookup(
        self, unit: Unit, qkeys: frozenset[str], budget: int
    ) -> dict[int, float] | Callable[[int], float]:
        """A unit's quality per product: a full listing when that is cheap, else a product-by-product lookup."""
        if unit.found is not None or self.estimate(unit) <= budget:
            return self.unit_map(unit, qkeys, ACCENT_MISMATCH)
        return self.asker(unit, qkeys, ACCENT_MISMATCH)

    def asker(self, unit: Unit, qkeys: frozenset[str], penalty: float) -> Callable[[int], float]:
        """A product → quality function for one unit, its alternatives prepared once (best first)."""
        specs: list[AskSpec] = []
        for alt in sorted(dict.fromkeys(unit.alts), key=lambda a: -a.q):
            table = self.ix.table(alt)
            posts = [table.get(k) for k in alt.key]
            if any(p is None for p in posts):
                continue
            phrase = self.ix.phrase_docs(alt.key) if len(alt.key) > 1 else None
            if phrase is not None and not phrase:
                continue  # words the catalogue has, never side by side ("rượu gạo" where no product says so)
            # The products whose marks disagree: one word's set as it is; a phrase's, those of its products only
            # (a set of all products writing "đông" or "ha" otherwise: thousands, made for a few questions).
            mismatched: AbstractSet[int] = frozenset()
            fits: list[frozenset[int]] = []  # per word typed with marks, the products that write it so
            for k, typed in zip(alt.key, alt.accents, strict=True):
                if typed is not None:
                    other = self.mismatch(k, typed, alt.sound, alt.exact)
                    if other and phrase is not None:
                        other = other & phrase
                    if other:
                        mismatched = other if not mismatched else mismatched | other
                    if (fit := self.fitting(alt, k, typed)) is not None:
                        fits.append(fit)
            # Products where the word is only part of a compound (`Postings.bound`: product → the compound's other
            # words), asked product by product rather than listed.
            bound: dict[int, frozenset[str]] | None = None
            if len(alt.key) == 1 and not alt.sound and not alt.free:
                bound = self.ix.bound.get(alt.key[0])
            off = (
                0.0 if alt.sound or alt.exact else penalty
            )  # a regional spelling with other marks is another word
            # (Checked first, product by product, the smallest set first; None where no word was typed so.)
            fit = tuple(sorted(fits, key=len)) if fits else None
            specs.append((alt.q, posts, mismatched, bound, phrase, off, fit))  # type: ignore[arg-type]

        def quality(d: int) -> float:
            best = 0.0
            for q, posts, mismatched, bound, phrase, off, fit in specs:
                if q <= best:
                    break
                if (phrase is not None and d not in phrase) or (
                    fit is not None and (d not in fit[0] or (len(fit) > 1 and any(d not in f for f in fit[1:])))
                ):
                    continue  # (a product writing a word typed with other letter marks: another word)
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
                    if bound is not None:
                        partners = bound.get(d)
                        if partners is not None and not partners & qkeys:
                            v *= BOUND
                    if d in mismatched:
                        v *= off
                    if v > best:
                        best = v
            return best

        return quality

    def parts(self, content: list[Unit], soft: list[Unit], threshold: float) -> list[Part]:
        """The units `cover` sums over: (unit, its weight in the sum, soft?, its alternatives found anywhere as
        (quality, products, alternative), best first). A soft unit weighs 1 − threshold of its weight."""
        parts: list[Part] = []
        for u, w, is_soft in [(u, u.weight, False) for u in content] + [
            (u, u.weight * (1.0 - threshold), True) for u in soft
        ]:
            alts = [(alt.q, size, alt) for alt, size in zip(u.alts, self.sizes(u), strict=True) if size]
            if alts:
                alts.sort(key=lambda a: -a[0])
                parts.append((u, w, is_soft, alts))
        return parts

    @staticmethod
    def next_listing(parts: list[Part], cursor: dict[int, int]) -> tuple[int, int] | None:
        """The cheapest listing still to make, per unit of ceiling it removes: (part, its next cursor), where
        `cursor` holds, per unit, how many of its alternatives are listed; None when all are."""
        best: tuple[float, int, int] | None = None  # (cost per unit of ceiling removed, part, next cursor)
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
        return None if best is None else (best[1], best[2])

    def listed_alts(self, parts: list[Part], bar: float) -> list[Alt]:
        """The alternatives `cover` lists (without a bound on candidates): every product that can reach the
        bar is found in one of them."""
        ceiling = {id(u): w * alts[0][0] for u, w, _s, alts in parts}
        room = sum(ceiling.values())
        cursor = {id(u): 0 for u, *_ in parts}
        out: list[Alt] = []
        while room >= bar:
            step = self.next_listing(parts, cursor)
            if step is None:
                break
            n, j = step
            u, w, _s, alts = parts[n]
            out.extend(alt for _q, _size, alt in alts[cursor[id(u)] : j])
            cursor[id(u)] = j
            room -= ceiling[id(u)]
            ceiling[id(u)] = w * (alts[j][0] if j < len(alts) else 0.0)
            room += ceiling[id(u)]
        return out

    def cover(
        self,
        content: list[Unit],
        soft: list[Unit],
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
        parts = self.parts(content, soft, threshold)
        # Each part's ceiling is its weight times the best quality among alternatives not yet listed.
        ceiling = {id(u): w * alts[0][0] for u, w, _s, alts in parts}
        room = sum(ceiling.values())
        if room < bar:
            return {}
        if len(parts) == 1 and not parts[0][2] and not max_candidates:
            # One product word, nothing else: its own listing is the answer (the usual short query).
            # (Words found nowhere were dropped from `parts` but still count in `total`.)
            found = self.unit_map(parts[0][0], qkeys, ACCENT_MISMATCH)
            need = bar / parts[0][1]  # the quality that reaches the bar
            share = parts[0][1] / total
            if (
                within is None
                and share == 1.0
                and found
                and need <= min(found.values()) <= max(found.values()) <= 1.0
            ):
                return dict(found)  # all of it, as it is: a copy, not a pass
            keys = found.keys() if within is None else found.keys() & within
            return {d: min(found[d] * share, 1.0) for d in keys if found[d] >= need}
        cursor = {id(u): 0 for u, *_ in parts}
        candidates: set[int] = set()
        while room >= bar:
            step = self.next_listing(parts, cursor)
            if step is None:
                break
            n, j = step
            u, w, _s, alts = parts[n]
            if max_candidates and sum(a[1] for a in alts[cursor[id(u)] : j]) > 10 * max_candidates:
                # Did-you-mean only: a word found in thousands of products suggests nothing in particular.
                break
            for _q, _size, alt in alts[cursor[id(u)] : j]:
                reach = self.ix.alt_reach(alt)
                if within is not None and not max_candidates:
                    # Only those within (a place's products): the smaller side is walked.
                    if isinstance(reach, dict):
                        reach = within.intersection(reach) if len(reach) < len(within) else reach.keys() & within
                    else:
                        reach = within & reach
                candidates.update(reach)
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
        # Units every alternative of which was listed above (not only the best: "tao" found as "apple" at 0.95,
        # not as thao, tân, thọ… at 0.2, tens of thousands of products at national size).
        listed = {id(u) for u, _w, _s, alts in parts if cursor[id(u)] == len(alts)}
        # The first part, when every candidate passes its floor, is summed in the second's pass (one pass over
        # the candidates instead of two, the same sums in the same order): (its lookup, its weight).
        first: tuple[Callable[[int], float | None], float] | None = None
        for n, (u, w, is_soft, alts) in enumerate(parts):
            room -= w * alts[0][0]
            floor = bar - room
            size = len(candidates) if acc is None else len(acc)
            # A unit whose products were listed anyway is cheapest as a full listing (cached per index).
            budget = self.estimate(u) if id(u) in listed else LIST_RATIO * size
            look = self.lookup(u, qkeys, budget)
            if acc is None and first is not None:
                get0, w0 = first
                if isinstance(look, dict):
                    get = look.get
                    acc = {
                        d: v for d in candidates if (v := w0 * (get0(d) or 0.0) + w * get(d, 0.0)) >= floor
                    }
                else:
                    acc = {d: v for d in candidates if (v := w0 * (get0(d) or 0.0) + w * look(d)) >= floor}
            elif acc is None:
                get = look.get if isinstance(look, dict) else look
                if candidates and not is_soft and floor <= 0.0 and n + 1 < len(parts) and not parts[n + 1][2]:
                    first = get, w  # no candidate is dropped here (all parts are ≥ 0)
                    continue
                acc = {d: v for d in candidates if (v := w * (get(d) or 0.0)) >= floor}
                if is_soft:
                    lift = {d: v / (1.0 - threshold) for d, v in acc.items() if v}
            elif is_soft and isinstance(look, dict):
                # Soft words only ever add: update the products that have them; the bar is checked at the end.
                # (Comprehensions, not a loop: a soft word like "htx" is in most of the products found.)
                both = acc.keys() & look.keys()
                uw, get_lift = u.weight, lift.get
                lift.update({d: get_lift(d, 0.0) + uw * look[d] for d in both})
                acc.update({d: acc[d] + w * look[d] for d in both})
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


def _holds(ordered: Sequence[int], value: int) -> bool:
    """Is `value` in this sorted sequence?"""
    at = bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value
