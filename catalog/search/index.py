"""The search itself: a query read, matched under its filters, ranked; or a slice of the catalogue; or suggestions."""

from __future__ import annotations

import collections
import heapq
import itertools
import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from operator import itemgetter
from typing import Any

from rapidfuzz import fuzz, process

from catalog.lexicon import Exclusion, Key, Lexicon
from catalog.search.corrections import correction, fold_in_place
from catalog.search.gate import answer_gate
from catalog.search.gate import features as gate_features
from catalog.search.matching import Matcher
from catalog.search.memory import gc_paused
from catalog.search.model import (
    ACCENT_MISMATCH,
    BONUS_CAP,
    CONFIDENT,
    KIN,
    LEXICON_ALT,
    LIST_RATIO,
    NAME,
    OPTIONAL_POINTS,
    PARTIAL,
    PLACE,
    PRODUCER,
    PROVINCE,
    RERANK,
    RESULT_MARGIN,
    SOFT_POINTS,
    SUGGEST_MISMATCH,
    SUGGESTIONS,
    TELLING,
    Alt,
    ParsedQuery,
    PlaceName,
    ProductDoc,
    SearchAnswer,
    SearchHit,
    Unit,
)
from catalog.search.parser import ANY_GOODS, COUNT_UNITS, QueryParser, asks_ingredients
from catalog.search.postings import Postings
from catalog.search.register import (
    STRAY_FOREIGN,
    STRAY_SHARE,
    STRAY_STOPWORD,
    STRAY_VIETNAMESE,
    could_be_vietnamese,
    is_stopword,
)
from catalog.text import fold_tokens
from catalog.uses import use_tags

# Ranking many confident products (issue 14): past TOP_K_FROM of them, the best are found without the points
# of all (SearchIndex._top_by_coverage). A word or need whose listing is at most 1/RARE_SHARE of them is
# listed; a commoner one is asked product by product, and the walk gives up (ranking all, as below the
# bound) after WALK_SHARE times the products wanted. A coverage level holding at least 1/SPARSE_LEVEL of the
# catalogue is walked in the catalogue's ranked order, a smaller one sorted. EPSILON: float slack in bounds.
TOP_K_FROM = 1_000
RARE_SHARE = 4
WALK_SHARE = 40
TIER_AFTER = 2  # × the products wanted: a walk of the products named this long is split by their points
SPARSE_LEVEL = 8
TYPICAL_NONE = 1_000  # a product of no kind a need's `first` list names: after those of the kinds it names
# Asking for the best rated of what is found: "nhiều sao nhất", "hạng sao cao nhất", "most stars", "top rated".
_BEST_RATED = re.compile(
    r"(?<![a-z])(?:(?:nhieu|cao) sao nhat|sao (?:cao|nhieu) nhat|hang (?:sao )?cao nhat|xep hang cao nhat"
    r"|most stars|highest (?:stars|rated|rating)|(?:best|top) rated|best rating)(?![a-z])"
)
# Verbs whose object is the goods asked for ("mua ổi", "order lychee").
_BUYING = frozenset({"mua", "buy", "order", "sell", "stock"})
_SELLING: dict[str, str] = {"dat": "đăt5", "lay": "lây1"}  # đặt (order), lấy (take), with their marks
_AT = frozenset({"o", "tai", "in", "at"})  # where somebody is or goes
# Words asking for a place's products in general ("có sp OCOP nào", "what products"): see _slice.
_PRODUCTS = frozenset({"sp", "ocop", "hang", "product", "products", "item", "items"})
_PRODUCTS_SAID = frozenset({("san", "pham"), ("dac", "san")})  # "sản phẩm", "đặc sản" (alone "san" is sẵn, sân)
# How much or how many, between a buying verb and the goods ("mua ít mắm tôm", "buy some"), and words that name
# no goods of their own ("mua ít đồ làm quà": things, whatever they are).
_HOW_MUCH = frozenset({"it", "chut", "vai", "mot", "some", "a", "few"})
# Words between the asking word and the goods that say how many or which kind ("cần loại trà", "mua ít mật ong").
_WHICH_OF = _HOW_MUCH | {"loai", "may", "them"}
_SEEKING = frozenset({("looking", "for"), ("look", "for"), ("searching", "for")})
# Liking, and drinking or eating, before a product word (marks as typed; None: English, no marks to check).
_LIKING: dict[str, str | None] = {
    "thich": "thich1", "me": "mê0", "sanh": "sanh2", "ghien": "ghiên2", "khoai": "khoai1", "nghien": "nghiên5",
    "like": None, "love": None, "enjoy": None, "adore": None, "prefer": None,
    "nhi": "nhi0",  # nhâm nhi: sips, as a habit
}
_CONSUMING: dict[str, str | None] = {
    "uong": "uông1", "an": "ăn0", "dung": "dung2", "drink": None, "drinking": None, "eat": None, "eating": None,
}
_AFTER_LIKED = frozenset({"con", "thi", "nhung", "ma", "lam", "nhat", "qua", "and", "but", "so", "very", "a", "lot"})
_MARKED_ONLY = frozenset({"me"})  # typed plain, "me" is mẹ (mother) as often
# Words that make a gift a small one, with their marks where typed (None: English, or marks not needed).
_SMALL: dict[str, str | None] = {
    "nho": "nho3", "re": "re3", "xinh": None, "small": None, "little": None, "tiny": None, "cheap": None,
    "budget": None, "inexpensive": None, "affordable": None, "prize": None, "favour": None, "favor": None,
    "giveaway": None,
}
_ASKING_FOR = frozenset({"tim", "co", "can"})  # tìm, có, cần: asking for goods, beside the verbs of buying
# Words after goods asked for that say no more of which ones: "có trà gì …", "cần mật ong để pha …".
_AFTER_ASKED = frozenset({"gi", "nao", "khong", "ko", "k", "hok", "hong", "a", "ad", "shop", "loai", "de", "cho", "ngon"})
_HOW = frozenset({"truoc", "them", "luon", "ngay", "san", "gap", "som", "lai", "hang"})  # "đặt trước", "lấy thêm"
# Verbs of cooking or serving: a product right after one is a dish somebody serves ("quán nào nấu gà đồi …").
_COOKED = frozenset({"nau", "lam", "xao", "nuong", "luoc", "cook", "cooks", "serve", "serves"})
_NOT_BUYING = frozenset({"khoi", "khong", "ko", "k", "dung", "chang", "chua", "dont", "not"})
# "Không" as chat and the south write it, and what may follow a question's end ("có bán hông shop", "có ko ạ").
_NO_WORDS = frozenset({"khong", "ko", "k", "hok", "hk", "khg", "hong", "khum", "hem", "hum"})
_TAIL_CHAT = frozenset({"shop", "a", "ad", "b", "ban", "da", "vay", "z", "nhi", "ha", "nhe", "ne", "oi", "mn"})
_FOR = frozenset({"for", "cho"})  # a thing for an occasion: "chocolate truffles for Valentine"
FEW_FOR_NEEDS = 3  # fewer products serving every need named than this: those serving one less join them
EPSILON = 1e-9
# Matching many products (SearchIndex._cover_top): a soft or optional word in at most RARE_WORD products has
# them scored first. BELOW_NAME: the best field weight after a name's (a producer's, a place's).
RARE_WORD = 1_000
BELOW_NAME = max(PRODUCER, PLACE, PROVINCE)
ANSWERS_KEPT = 2_048  # answers a SearchIndex keeps for queries asked again (`cached_search`)


class SearchIndex:
    """Everything needed to answer a query, built once from the catalogue's products (rebuild = new index)."""

    def __init__(self, docs: Iterable[ProductDoc], lexicon: Lexicon | None = None) -> None:
        self.ix = Postings(docs, lexicon)
        self.docs = self.ix.docs
        self.lexicon = self.ix.lexicon
        with gc_paused():  # (the parser reads the word list: each collection would walk the whole index)
            self.parser = QueryParser(self.ix)
            self.matcher = Matcher(self.ix)
        self._named_cache: dict[str, set[int]] = {}
        self._full_names: dict[int, str] = {}
        self._small_gift_docs: frozenset[int] | None = None
        self._named_as_cache: dict[Key, frozenset[int]] = {}
        self._wide_cache: dict[tuple[tuple[str, Key], ...], frozenset[str]] = {}
        self._typical_cache: dict[str, dict[int, int]] = {}
        self._answers: dict[tuple[str, int], SearchAnswer] = {}  # see `cached_search`
        self._tags = {tag.code: tag for tag in use_tags()}
        _read_word_lists()

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        _read_word_lists()

    def __len__(self) -> int:
        return len(self.docs)

    def __getstate__(self) -> dict[str, object]:
        """Pickled without its caches (catalog/search/stored.py): they fill again as queries come."""
        return {**self.__dict__, "_named_cache": {}, "_named_as_cache": {}, "_wide_cache": {}, "_typical_cache": {},
                "_answers": {}, "_full_names": {}, "_small_gift_docs": None}

    def cached_search(self, query: str, limit: int = 10) -> SearchAnswer:
        """`search`, from this index's memory of the last ANSWERS_KEPT queries when the same text was searched with
        the same limit before (popular products are asked for again and again, in the same words). Safe because an
        index never changes once built (a new catalogue is a new index, with an empty memory) and `search` depends
        on nothing but its text and limit; the answer is shared, so whoever gets it only reads it."""
        key = (query, limit)
        answer = self._answers.get(key)
        if answer is None:
            answer = self.search(query, limit)
            if ANSWERS_KEPT > 0:
                if len(self._answers) >= ANSWERS_KEPT:
                    del self._answers[next(iter(self._answers))]  # the oldest
                self._answers[key] = answer
        return answer

    def search(self, query: str, limit: int = 10, gated: bool = True) -> SearchAnswer:
        """Answer one buyer query: confident results, or none and some suggestions. `gated`: an answer the learned
        gate doubts (catalog/search/gate.py) is offered as suggestions instead, under "not in the catalogue"."""
        answer, parsed = self.ruled(query, limit)
        gate = answer_gate() if gated and parsed.long else None  # (a query typed short names what it wants)
        if gate is not None and answer.results and gate.doubts(gate_features(self, parsed, answer), parsed.keys):
            return replace(answer, results=[], suggestions=answer.results[:SUGGESTIONS], doubted=True)
        return answer

    def ruled(self, query: str, limit: int = 10) -> tuple[SearchAnswer, ParsedQuery]:
        """The answer the rules give, ungated, and the message as they read it (what the buyer meant, where the
        message corrects itself)."""
        query = "" if query is None else str(query)
        limit = max(1, int(limit))
        plain = fold_in_place(query)
        taken_back = correction(query, plain)
        meant = self.parser.parse(taken_back.after) if taken_back is not None else None
        if meant is None or taken_back is None or not _says_what(meant, goods=taken_back.goods_first):
            # (a detail taken back, "bao nhiêu won… à nhầm, bao nhiêu đồng")
            parsed = self.parser.parse(query)
            answer = self._answer(query, limit, parsed=parsed)
        else:
            # "mật ong, à nhầm, rượu men lá": what the buyer meant, with the filters the correction does not replace.
            withdrawn, parsed = self.parser.parse(taken_back.before), meant
            answer = replace(self._answer(taken_back.after, limit, withdrawn, meant), query=query)
        if len(answer.results) > 1 and _BEST_RATED.search(plain):
            # "giò nào nhiều sao nhất", "top rated honey": of those found, the ones rated highest.
            top = max(h.doc.stars or 0 for h in answer.results)
            if top:
                answer = replace(answer, results=[h for h in answer.results if (h.doc.stars or 0) == top])
        return answer, parsed

    def _answer(
        self, query: str, limit: int, withdrawn: ParsedQuery | None = None, parsed: ParsedQuery | None = None
    ) -> SearchAnswer:
        """`search` of a message as it stands (`parsed`: read already); `withdrawn`: what the buyer took back before
        it, whose place, star rating and product group still hold where the message names none."""
        parsed = self.parser.parse(query) if parsed is None else parsed
        if withdrawn is not None:
            parsed.places = parsed.places or withdrawn.places
            if parsed.stars is None:
                parsed.stars, parsed.min_stars = withdrawn.stars, withdrawn.min_stars
            parsed.categories = parsed.categories or withdrawn.categories
        content = [u for u in parsed.units if u.role in ("content", "elsewhere")]
        soft = [u for u in parsed.units if u.role in ("soft", "common")]
        optional = [u for u in parsed.units if u.role == "optional"]
        asks = tuple(parsed.asks)
        filters: dict[str, Any] = {}
        if parsed.stars is not None:
            filters["min_stars" if parsed.min_stars else "stars"] = parsed.stars
        has_filters = (
            parsed.stars is not None or bool(parsed.categories) or bool(parsed.places) or bool(parsed.uses)
        )
        service = "service" in asks or "department" in asks
        if service and self._serves_the_product(parsed, content):
            service = False
        # A matter for the department (a complaint, a licence, a rating, selling one's own goods) asks for no
        # product, whatever it is about, unless one is named in full; beside it any other word is no guess.
        # So does something else asked of the bot (a story, a joke, a translation, a poem, the lottery): "kể chuyện
        # cười đi, rồi tìm giúp rượu men lá Kiên Thành" still asks for the wine.
        not_products = not {"department", "offtopic"}.isdisjoint(asks) and not self._said_in_full(parsed, content)
        # (a village visit may teach its craft; learning to cook at home, the ingredients are asked for: "đang học
        # nấu chè ngô, cần mua nguyên liệu")
        course = "course" in asks and "tourism" not in parsed.categories and not asks_ingredients(parsed.keys)
        lacked = [u for u in content if u.lacked]
        supplies = "supplies" in asks
        if (supplies or lacked) and self._said_in_full(parsed, content):
            # A product named word for word is what the message is about, whatever goods it names beside it: its
            # packing, a pan to cook it in ("mật ong Yên Mỹ có hũ thủy tinh không", "chả gà Yên Thế cho vào nồi chiên
            # không dầu"). (Not beside a service: "quán nào nấu gà đồi Yên Thế ngon" asks for a restaurant.)
            supplies, lacked = False, []
            content = [u for u in content if not u.lacked]
        # A trip to somewhere else ("tour câu mực ở Cô Tô", "homestay in Pu Luong"), unless goods of ours are named
        # (sent to where the buyer is).
        visit_elsewhere = (
            "tourism" in parsed.categories
            and not any(not u.stray and self.parser.names_kind(u) for u in content)
            and self._visit_elsewhere(parsed)
        )
        if has_filters and not parsed.uses and self._compared_before(content, parsed):
            # "Hưng Yên thì có nhãn lồng, còn Lục Ngạn có những món OCOP 4 sao nào?": another place's goods said
            # first, as a comparison; the filters of the clause after it are the question.
            return self._slice(query, parsed, filters, limit)
        if (
            supplies
            or course
            or not_products
            or visit_elsewhere
            or (service and (not content or any(u.stray for u in content)))
        ):
            # Seedlings or fertiliser for a crop, a class in making a product, a car to rent, an air conditioner to
            # repair, a photographer for a wedding: whatever catalogue word, place or need comes with them, no
            # product is the answer.
            return SearchAnswer(query, [], [], filters, "", asks)
        if lacked:
            # Goods the catalogue has none of, named on their own ("hoa tươi giao ngày 20/10", "cây quất chơi
            # Tết"): whatever need or place comes with them, they are what is asked for.
            return SearchAnswer(query, [], [], filters, " ".join(u.text for u in lacked), asks)
        # Beside a service asked for: only a product named in full, never a guess.
        unplaced: list[Unit] = []
        if content and all(u.stray for u in content):
            # Unknown words alone may be slips for catalogue words ("chuu": Chũ), but not in a long message that
            # names a need: there they are its chat ("chồng tôi làm kỹ sư … quà biếu": sư is no "xu xê").
            unplaced = content
            if parsed.long and parsed.uses:
                # There only a long English-looking word may be a slip ("chiken sausge … for a bbq").
                content = [u for u in content if u.stray == STRAY_FOREIGN and len(u.text) >= 6]
            content = self._typos(content, parsed) if content else []
            if not content and parsed.uses and self._other_goods_asked(unplaced, parsed):
                return SearchAnswer(query, [], [], filters, " ".join(u.text for u in unplaced), asks)
            if not content and self._beside_filter(unplaced, parsed):
                # What the place or group has is a suggestion, not the answer.
                return SearchAnswer(query, [], self._place_hints(query, parsed, filters), filters, "", asks)
        elif parsed.long:
            content = _cap_strays(content)
            # A product word somebody is said to like is what the gift or the order is ("sếp rất thích uống rượu",
            # "anh ấy sành rượu", "she loves honey"): as telling as a known phrase; not where more words name which
            # one ("thích rượu sim": the other words say what it is).
            # (As typed or as the lexicon reads it: no regional spelling, "trà" is no "chế".)
            content = [
                replace(u, weight=TELLING, alts=[a for a in u.alts if a.q >= LEXICON_ALT], found=None, sizes=None)
                if u.weight < TELLING and _liked(u, parsed) and self._product_word(u)
                else u
                for u in content
            ]
        # Beside a need, lone catalogue words naming no kind are chat: with no product word left, the need is the
        # question (`chat`, below); beside one they only count where found ("crush thích ăn vặt … độc lạ"). (A
        # kind word of one syllable typed plain is too often another word to count: "dau nam" is đầu năm.)
        chat = self._chat_beside_need(content, parsed)
        others = [u for u in content if not u.stray and u not in chat]
        if chat and any(self.parser.names_kind(u) and (" " in u.text or u.alts[0].accents[0]) for u in others):
            content = [u for u in content if u not in chat]
            soft = soft + [replace(u, role="soft") for u in chat]
        if others:
            chat = []
        guessed = not content and bool(soft) and not has_filters and not unplaced and not parsed.english_words
        if guessed:
            # Only ambiguous words (`my`, `ban`): read them as product words after all (but a lone "the" is
            # an English word, not worth a did-you-mean). Not beside words nobody could place, those were what
            # was asked ("sake for my boss"), nor in English ("something for my father-in-law").
            content, soft = [replace(u, role="content") for u in soft], []
        sliced_if_none = False
        if not content and parsed.places and not parsed.uses:
            # Only common words beside a place ("na Lục Nam đầu mùa có đắt không": na is a chat word too):
            # the place's products that have them are the answer; without any, the place's slice.
            words = [u for u in soft if u.role == "common"]
            if words:
                content, soft, sliced_if_none = [replace(u, role="content") for u in words], [], True
        terms = " ".join(u.text for u in content if not u.stray)
        if not content:
            if has_filters:
                return self._slice(query, parsed, filters, limit)
            # Unknown words alone: what they might be misspelling is a suggestion ("chuu": mỳ Chũ?).
            typed = [replace(u, weight=1.0) for u in unplaced if u.role == "content"]
            suggestions = self._suggest(typed, soft, _mentioned(parsed)) if typed else []
            asked = " ".join(u.text for u in unplaced)  # what was asked for, though nothing could place it
            return SearchAnswer(query, [], suggestions, filters, asked, asks)

        qkeys = _mentioned(parsed)
        excluded = self._excluded(parsed.excluded)
        scores: dict[int, float] | None = None
        applied: dict[str, Any] = {}
        if not (parsed.places or parsed.categories or parsed.excluded or parsed.stars is not None) and not (
            (parsed.long and parsed.uses) or parsed.implied
        ):
            # Nothing narrows the products nor asks about all of them (_by_chance): only the best matter.
            scores = self._cover_top(content, soft, optional, qkeys, parsed, max(RERANK, limit))
        if scores is None:
            scores, applied = self._score(content, soft, qkeys, parsed, CONFIDENT, excluded)
        if sliced_if_none:
            inside = self._in_places(parsed.places)
            scores = {d: c for d, c in scores.items() if d in inside}
        part_of: dict[int, int] = {}
        if not scores and parsed.joins:
            # Two things asked for at once ("bánh chưng Vân với giò mỡ", "rượu và trà"): each is an answer.
            scores, applied, part_of = self._either(content, soft, qkeys, parsed, excluded)
        if not scores and parsed.long:
            # Two products liked by two people ("ông thích uống trà, bà thì thích đồ ngọt"): each is an answer.
            liked = [[u] for u in content if u.weight >= TELLING and _liked(u, parsed)]
            scores, applied, part_of = self._parts(liked, soft, qkeys, parsed, excluded)
        if not scores and parsed.long:
            # Two products in two clauses, one of them asked for ("Tết này tự gói bánh chưng, cần gạo nếp thật
            # thơm"): the one asked for is the answer, the other what it is for.
            asked = self._asked_apart(content, parsed)
            if asked is not None:
                scores, applied = self._score([asked], soft, qkeys, parsed, CONFIDENT, excluded)
        if not scores and parsed.long and not any(u.role == "elsewhere" for u in content):
            # A list of products, one to a clause ("I want three things: Tan Hung honey, Hanh Thai noodles, Tien Loi
            # cake"): each is an answer.
            scores, applied, part_of = self._parts(self._listed(content, parsed), soft, qkeys, parsed, excluded)
        if scores and (chat or self._by_chance(content, parsed, scores)):
            scores, applied, part_of = {}, {}, {}
        if not scores and parsed.long:
            scores = self._named_in_full(parsed, content)
        elif parsed.long and len(scores) > 1:
            # Among several products found, one named in full, every word of its name, comes first ("thịt lợn Bình
            # Minh nuôi thảo dược": the pork, not the Bình Minh rolls of herbal-fed pork that have more of the words).
            top, said = max(scores.values()), f" {' '.join(parsed.keys)} "
            for d, _ in heapq.nlargest(RERANK, scores.items(), key=itemgetter(1)):
                if f" {self._full_name(d)} " in said:  # its whole name, as written
                    scores[d] = top + 0.1
        route = (
            self._telling_route(content, soft, parsed)
            if not scores and parsed.long and not service and not chat
            else None
        )
        if route is not None:
            # A long message whose product words no product covers in full: the chat around a product names
            # other catalogue words too ("… ngâm rượu được không", "… ngọt quá trời"). Take the product that
            # covers most of it, when that is at least half and a telling part (see _tells).
            partial, applied = self._score(content, soft, qkeys, parsed, PARTIAL, excluded, route or None)
            best = heapq.nlargest(RERANK, partial.items(), key=itemgetter(1))  # a telling few, best first
            scores = {d: c for d, c in best if self._tells(d, content, soft, qkeys, parsed)}
        filters.update(applied)
        if not scores and not service and self._need_is_the_question(content, parsed, chat):
            # A long message naming a need or a product group, whose other words no product has: those were
            # chat ("biếu thầy giáo cũ món gì ý nghĩa"); the need is the question. Products it serves that have
            # one of those words come first ("làm salad … dầu ép": the oils of a meal).
            return self._slice(query, parsed, filters, limit, self._having(content, qkeys))
        if not scores and sliced_if_none:
            return self._slice(query, parsed, filters, limit)
        if not scores:
            if self._place_is_no_answer([u for u in content if u.stray], parsed):
                # "tìm gia sư … ở Hiệp Hòa": what the place has is the hint, not a guess at the unknown words.
                return SearchAnswer(query, [], self._place_hints(query, parsed, filters), filters, terms, asks)
            suggestions = [] if guessed else self._suggest(content, soft, qkeys, excluded)
            return SearchAnswer(query, [], suggestions, filters, terms, asks)
        hits = self._rank(scores, optional, soft, parsed, limit, qkeys)
        if part_of:
            part = {self.ix.docs[d].slug: n for d, n in part_of.items()}
            results = _taking_turns(hits, part)[:limit]
            return SearchAnswer(query, results, [], filters, terms, asks)
        best = hits[0].score
        results = [h for h in hits if h.score >= best - RESULT_MARGIN][:limit]
        return SearchAnswer(query, results, [], filters, terms, asks)

    def _chat_beside_need(self, content: list[Unit], parsed: ParsedQuery) -> list[Unit]:
        """In a long message naming a need, the catalogue words that are its chat: each standing alone and naming
        no kind of product. "sớm" in "em ở xa không về sớm được … làm giỗ" is no Vải sớm, "bảo" in "cô bảo mang …
        mâm cỗ Tết" no Bảo Sơn, "độc" in "crush thích ăn vặt … tặng gì độc lạ" no An Xoa giải độc gan. Not a product
        word ("mật ong") nor catalogue words side by side ("Hằng Hiếu")."""
        if not (parsed.long and parsed.uses):
            return []
        placed = [u for u in content if not u.stray]
        words = [u for u in parsed.units if u.role in ("content", "soft", "common") and not u.stray]
        return [
            u
            for u in placed
            if u.role == "content"
            and len(u.alts[0].key) == 1
            and not self.parser.names_kind(u)
            and not _beside_any(u, words)
        ]

    def _other_goods_asked(self, content: list[Unit], parsed: ParsedQuery) -> bool:
        """Does a message naming a need ask for goods the catalogue lacks: a word nobody listed right beside an
        occasion ("Belgian chocolate truffles for Valentine", "Christmas tree", "mứt gừng Tết"), unless it is who
        the gift is for?"""
        if self._counted_goods(content, parsed):
            return True
        lex = self.ix.lexicon
        occasions = [
            (use, span)
            for (use, words), span in zip(parsed.use_phrases, parsed.use_spans, strict=False)
            if tuple(words.split()) in lex.occasions
        ]
        keys = parsed.keys

        def beside(u: Unit, use: str, span: tuple[int, int]) -> bool:
            # Before it with "for" or "cho" between ("truffles for Valentine"), or right after a gift-giving one in
            # English order ("Christmas tree"; not "Tết dinner", an event of the occasion, nor "20/11 lớp con mình
            # …", where Vietnamese starts a sentence).
            end = _end(u)
            return (
                (end + 1 == span[0] and keys[end] in _FOR)
                or (use == "gift" and u.at == span[1] and u.stray == STRAY_FOREIGN)
                or (end == span[0] and u.stray >= STRAY_VIETNAMESE and not parsed.english_words)  # "mứt gừng Tết"
            ) and not any(min(end, span[1]) <= c <= max(u.at, span[0]) for c in parsed.clauses)

        return any(
            u.stray
            # a function word whichever its marks, or as typed ("nón" is none, though "non" folded may be)
            and (u.stray > STRAY_STOPWORD or not is_stopword(u.text, u.text))
            and u.text not in ANY_GOODS  # "ít đồ Tết": things, whatever they are
            # (a name is who the gift is for, unless it is what a verb of buying or seeking names: a brand,
            # "mua Pringles", "looking for Irish Guinness")
            and (u.text not in parsed.names or _sought(u, parsed))
            and (u.text,) not in lex.recipients
            and (
                any(beside(u, use, span) for use, span in occasions)
                or _sought(u, parsed)
                # Goods opening a clause that asks whether they are sold ("có ếch đồng làm sạch hông shop, tui
                # xào …", "có ovaltine gói hok ad, sáng … pha uống"), or opening the message, typed with their marks,
                # asked about at its end ("quạt giấy vẽ tay làm quà cho …, có bán không"): what it asks for.
                or (u.stray >= STRAY_FOREIGN and _clause_asks_if_sold(u, parsed))
                or (
                    u.at == 0 and u.stray >= STRAY_VIETNAMESE and parsed.marked[0] is not None and _sold_asked(parsed)
                )
            )
            for u in content
        )

    def _counted_goods(self, content: list[Unit], parsed: ParsedQuery) -> bool:
        """Does the message open with goods nobody listed, counted right after ("rau ngót 3 bó …", "bí đỏ 3 quả
        loại 2kg …", "lạc luộc 2 cân đi nhậu")? Not a product named ("gà đồi loại to 2 con"): a known phrase or a
        kind of product among those words makes them ours."""
        keys = parsed.keys
        n = next((i for i, k in enumerate(keys) if k.isdigit()), 0)
        if not n or n + 1 >= len(keys) or keys[n + 1] not in COUNT_UNITS:
            return False
        run = [u for u in content if u.at < n and u.role == "content"]
        return (
            bool(run)
            and min(u.at for u in run) == 0
            and any(u.stray >= STRAY_VIETNAMESE for u in run)
            and not any(not u.stray and (u.weight >= TELLING or self.parser.names_kind(u)) for u in run)
        )

    def _need_is_the_question(self, content: list[Unit], parsed: ParsedQuery, chat: list[Unit]) -> bool:
        """In a long message naming a need or a product group, are the unmatched words chat (those in `chat` are)?
        Not when they hold a known product phrase, another place, or a product word beside a name ("khăn lụa Vạn
        Phúc làm quà")."""
        if not (parsed.long and (parsed.uses or parsed.categories or parsed.places)):
            return False
        if self._place_is_no_answer([u for u in content if u.stray], parsed):
            return False  # "tìm gia sư tiếng Anh cho con ở Hiệp Hòa": a place alone, and no question what it has
        # A word the catalogue has only in a producer's or a place's name is chat here ("đám cưới bạn thân …": HTX
        # Thân Trường is not asked for); a word of a product's name, or one it lacks, may be the goods'.
        goods = [
            u for u in content if u.role != "elsewhere" and not all(self._producers_only(k) for k in u.alts[0].key)
        ]
        products = [u for u in goods if not u.stray and u not in chat]
        if any(u.weight >= TELLING for u in products):
            return False
        if not (parsed.uses or parsed.categories) and any(
            u.role == "content" and _end(u) in self._place_starts(parsed) for u in content
        ):
            return False  # a product word right before the place: "cam đường Yên Thế còn hàng không"
        for u in goods:
            if u.text in parsed.names or not _bought(u, parsed):
                continue
            # The goods bought are named, and no product has them: "mua mắm tôm làm quà biếu sếp", "mua lạp xưởng …"
            run = [u]
            while (more := next((v for v in goods if v.at == _end(run[-1]) and v.at not in parsed.clauses), None)):
                run.append(more)
            if any(v.stray for v in run):
                return False
            if len(run) >= 2 and not self._score(run, [], _mentioned(parsed), parsed, CONFIDENT, frozenset())[0]:
                return False
        # Another place's name beside the need or a product word asks for that place's goods ("đặc sản Đà Lạt
        # làm quà"); elsewhere in the message it is where somebody lives or goes ("cháu đi làm ở Hàn Quốc, …
        # muốn gói ít quà quê mang sang").
        spans = [
            *parsed.use_spans,
            *_chained(products, [u for u in goods if u.text not in parsed.names], parsed.clauses),
            *((u.at, _end(u)) for u in parsed.units if u.role == "soft"),  # a place or group named
        ]
        if any(
            u.role == "elsewhere" and any(_beside((u.at, _end(u)), span, parsed.clauses) for span in spans)
            for u in content
        ):
            return False
        if self._other_goods_asked(content, parsed):
            return False
        keys = parsed.keys
        if any(
            u.role == "elsewhere"
            and any(
                v.stray >= STRAY_VIETNAMESE
                and _end(v) == u.at
                and (v.at == 0 or keys[v.at - 1] in _ASKING_FOR or _buying_at(parsed, v.at - 1))
                for v in content
            )
            for u in content
        ):
            # Goods nobody listed, with their origin, opening the message or after a verb asking for them ("chanh
            # leo Mộc Châu … pha nước", "tìm ngán Quảng Ninh … bữa tiệc"): they are what is asked for.
            return False
        names = [(u.at, _end(u)) for u in content if u.text in parsed.names]
        return not any(
            u.text not in parsed.names
            and any(_gap((u.at, _end(u)), name) <= 1 for name in names)
            and self.matcher.reaches(u, _mentioned(parsed))
            for u in products
        )

    def _score(
        self,
        content: list[Unit],
        soft: list[Unit],
        qkeys: frozenset[str],
        parsed: ParsedQuery,
        threshold: float,
        excluded: frozenset[int],
        among: set[int] | None = None,
    ) -> tuple[dict[int, float], dict[str, Any]]:
        """Products covering at least `threshold` of the query (among `among`, if given), under the narrowest
        reading that has any.

        Stars are a hard filter. Places and product groups next to product words narrow the answer when that
        leaves anything ("vải thiều Lục Ngạn"), and are only a preference otherwise ("gà đồi Lục Ngạn" still
        finds Yên Thế's): the narrowest reading is tried first, so most queries score a small set.
        """
        starred = self._starred(parsed)
        disliked = self._excluded(parsed.excluded, soft=True)
        for within, applied in self._readings(parsed):
            if starred is not None:
                within = starred if within is None else within & starred
            if among is not None:
                within = among if within is None else within & among
            scores = self.matcher.cover(content, soft, qkeys, threshold, within=within)
            if excluded:
                scores = {d: v for d, v in scores.items() if d not in excluded}
            if disliked and scores.keys() - disliked:
                scores = {d: v for d, v in scores.items() if d not in disliked}
            if scores:
                return scores, applied
        return {}, {}

    def _cover_top(
        self,
        content: list[Unit],
        soft: list[Unit],
        optional: list[Unit],
        qkeys: frozenset[str],
        parsed: ParsedQuery,
        wanted: int,
    ) -> dict[int, float] | None:
        """Of the products `Matcher.cover` would find (CONFIDENT, no restriction), those that can be among the
        `wanted` best as `_rank` orders them, with the same coverage: without matching every product that has a
        common word (issue 14: "nông nghiệp", "hộ kinh doanh" are in a fifth of a national catalogue's
        producers). None when the query reaches few products (cover is cheap then) or the walk grows long.

        A product's rank key is 86 × coverage + its points (at most BONUS_CAP) + the tiebreak (stars, catalogue
        order). A product word is found at its best only in a name (NAME weight), and the products having it
        in one are listed per word (`Postings.named_post`), usually few. So: first the products having a rare
        soft or optional word; then those with some product word in a name; then the rest; each walked in
        the tiebreak's order, until not even the best coverage its group can have, with all the points left,
        makes the best found so far.
        """
        m, ix = self.matcher, self.ix
        threshold = CONFIDENT
        total = sum(u.weight for u in content)
        bar = threshold * total - 1e-9
        parts = m.parts(content, soft, threshold)
        product_parts = [p for p in parts if not p[2]]
        if not product_parts or sum(w * alts[0][0] for _u, w, _s, alts in parts) < bar:
            return None
        listed = m.listed_alts(parts, bar)
        reach = sum(ix.size(a) for a in listed)
        # A product word without which the product words fall short of the bar tells roughly how many products
        # reach it ("van … wine": wine; soft words seldom make up for one).
        room = sum(w * alts[0][0] for _u, w, _s, alts in product_parts)
        for _u, w, _s, alts in product_parts:
            if room - w * alts[0][0] < bar:
                reach = min(reach, max(size for _q, size, _a in alts))
        ranked, tiebreak = ix.ranked, ix.tiebreak
        if reach < TOP_K_FROM or reach * (2 if len(parts) == 1 else SPARSE_LEVEL) < len(ranked):
            return None  # (one word's listing is copied, not scored: cheap unless most products have it)
        reaches = [ix.alt_reach(a) for a in listed]

        # The coverage of one product, as cover computes it (the same sums in the same order), or None.
        ordered = sorted(parts, key=lambda p: -p[1] * p[3][0][0])
        askers = [(w, is_soft, u.weight, m.asker(u, qkeys, ACCENT_MISMATCH)) for u, w, is_soft, _a in ordered]
        lose = 1.0 - threshold
        inv = 1.0 / total
        single = len(parts) == 1
        need, share = bar / parts[0][1], parts[0][1] / total

        def candidate(d: int) -> bool:
            return any(d in r for r in reaches)

        def coverage(d: int) -> float | None:
            if single:  # (cover's listing of one word)
                q = askers[0][3](d)
                return min(q * share, 1.0) if q >= need else None
            a = s = 0.0
            lifted = False
            for k, (w, is_soft, uw, ask) in enumerate(askers):
                v = ask(d)
                if k == 0:
                    a = w * (v or 0.0)
                    if is_soft and a:
                        s, lifted = a / lose, True
                elif v:
                    if is_soft:
                        s, lifted = s + uw * v, True
                    a = a + w * v
            if a < bar:
                return None
            c = a * inv if a < total else 1.0
            if lifted:
                c = min((a - lose * s + s) / (total + s), 1.0)
            return c

        # Ranking points (as _bonus gives them): a rare word's products are taken first, a common word's asked.
        named_uses = [u for u in parsed.uses if u not in parsed.implied]
        docs = ix.docs
        rare: list[tuple[float, AbstractSet[int]]] = []
        common: list[Bonus] = []
        soft_reach = {id(u): alts[0][0] * u.weight for u, _w, is_soft, alts in parts if is_soft}
        lift_left = 0.0  # the most the soft words not listed can lift a product's coverage
        kinds = self._kinds_named(parsed)
        if kinds:
            kind_of = self.ix.kind_of
            common.append((SOFT_POINTS, lambda d: kind_of[d][0] in kinds, None))
        for units, points in ((soft, SOFT_POINTS), (optional, OPTIONAL_POINTS)):
            for u in units:
                if m.estimate(u) <= RARE_WORD:
                    rare.append((points, m.unit_map(u, qkeys, ACCENT_MISMATCH).keys()))
                else:
                    reach_u: list[Container[int]] = [ix.alt_reach(a) for a in u.alts]
                    common.append((points, m.asker(u, qkeys, ACCENT_MISMATCH), reach_u))
                    lift_left += soft_reach.get(id(u), 0.0) if points == SOFT_POINTS else 0.0
        uses_points: list[Bonus] = (
            [(SOFT_POINTS, None, [ix.by_use.get(u, set()) for u in named_uses])] if named_uses else []
        )
        cap = sum(points for points, *_ in common) + (SOFT_POINTS if named_uses else 0.0)
        cap = cap if cap < BONUS_CAP else BONUS_CAP

        def points_of(d: int) -> float:
            b = SOFT_POINTS if named_uses and any(u in docs[d].uses for u in named_uses) else 0.0
            for points, products in rare:
                if d in products:
                    b += points
            for points, ask, _reach in common:
                if ask(d) > 0.0:
                    b += points
            return b

        # The products having a product word at its best (in a name), and what the others can reach.
        best = 0.0
        worst = 0.0
        at_best: list[tuple[float, tuple[dict[int, float], ...]]] = []  # (what a name adds, the postings)
        named: list[Sequence[int]] = []
        early: list[AbstractSet[int]] = [products for _points, products in rare]
        for u, w, _s, alts in product_parts:
            if m.estimate(u) <= RARE_WORD:
                # A rare product word ("cút" of "trà hoa cút"): its products are scored first, and it is no
                # more than the others can have.
                early.append(m.unit_map(u, qkeys, ACCENT_MISMATCH).keys())
                continue
            q0 = alts[0][0]
            below = max([q for q, _n, _a in alts if q < q0], default=0.0)
            best += w * q0
            second = w * max(q0 * BELOW_NAME, below)
            worst += second
            keys = {k for q, _n, alt in alts if q == q0 for k in ix.named_keys(alt)}
            at_best.append((w * q0 - second, tuple(ix.post[k] for k in keys if k in ix.post)))
            named += [ix.named_post[k] for k in keys if k in ix.named_post]

        def ceiling(cp: float, most: float = cap) -> float:
            c = (cp + lift_left) / (total + lift_left) if lift_left else cp / total
            return 86.0 * (c if c < 1.0 else 1.0) + most + EPSILON

        def in_names(d: int) -> float | None:
            """The most the product words can reach in this product, by those it has in a name (None: none)."""
            cp: float | None = None
            for gain, posts in at_best:
                for post in posts:
                    if post.get(d) == NAME:
                        cp = (worst if cp is None else cp) + gain
                        break
            return cp

        scores: dict[int, float] = {}
        heap: list[tuple[float, int]] = []  # the best found so far: (key, product), the least first
        visited: set[int] = set()

        def visit(d: int) -> None:
            visited.add(d)
            c = coverage(d)
            if c is None:
                return
            scores[d] = c
            b = points_of(d)
            key = c * 86.0 + tiebreak[d] + (b if b < BONUS_CAP else BONUS_CAP)
            if len(heap) < wanted:
                heapq.heappush(heap, (key, d))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (key, d))

        for products in early:
            for d in products:
                if d not in visited and candidate(d):
                    visit(d)
        limit = WALK_SHARE * wanted + len(visited)
        split_after = len(visited) + TIER_AFTER * wanted

        def walk(order: Iterable[int], group: bool, cp_group: float, most: float, split: bool) -> bool | None:
            """Visit the group's products in `order` (the tiebreak's) until none left can make the best, with at
            most `most` points. None: give up (few reach the bar); False: stopped to walk by points (`split`)."""
            top = ceiling(cp_group, most)
            for d in order:
                if len(heap) == wanted and top + tiebreak[d] < heap[0][0]:
                    break  # the rest come later in the tiebreak's order: none can make the best
                if d in visited:
                    continue
                cp = in_names(d)
                if (cp is not None) is not group or not candidate(d):
                    continue
                if cp is not None and len(heap) == wanted and ceiling(cp, most) + tiebreak[d] < heap[0][0]:
                    continue  # not even with its named words at their best
                visit(d)
                if len(visited) > limit or (len(visited) >= wanted // 2 and len(scores) * 4 < len(visited)):
                    # Few of the products walked reach the bar: listing them all is cheaper.
                    return None
                if split and len(visited) > split_after:
                    return False
            return True

        for group, cp_group in ((True, best), (False, worst)):
            members: set[int] | None = None
            order: Iterable[int]
            if group and sum(map(len, named)) * SPARSE_LEVEL < len(ranked):
                members = set().union(*named)
                order = sorted(members, key=ix.rank_of.__getitem__)
            else:
                order = ranked
            done = walk(order, group, cp_group, cap, group and bool(common or named_uses))
            if done is None:
                return None
            if done is False:
                # A long walk: the rest of the group's products by the most points each can have, most first.
                def beaten(most: float, cp_group: float = cp_group) -> bool:
                    return len(heap) == wanted and ceiling(cp_group, most) + tiebreak[ranked[0]] < heap[0][0]

                members = set().union(*named) if members is None else members
                for most, part in _by_points(members - visited, common + uses_points, wanted, beaten):
                    if part and len(part) * SPARSE_LEVEL < len(ranked):
                        order = sorted(part, key=ix.rank_of.__getitem__)
                    else:
                        order = filter(part.__contains__, ranked)
                    if walk(order, group, cp_group, most, False) is None:
                        return None
        return scores

    def _typos(self, strays: list[Unit], parsed: ParsedQuery) -> list[Unit]:
        """Of a query made only of words nobody listed, those that reach a product well, read as product words
        after all (typos: "chiken", "lichee"). Not an English word of the English names beside a need or a
        group ("what do Vietnamese eat for Tet"), nor a name the catalogue does not know. When some are, the
        unknown Vietnamese words beside them still count ("thực phẩm chức năng" is no misspelt "đinh lăng")."""
        wanted = bool(parsed.categories or parsed.uses)
        typos = [
            u
            for u in strays
            if u.role == "content"
            and u.stray > STRAY_STOPWORD  # a function word ("chỉ") is no typo of a product word ("chi")
            # A catalogue word typed with other marks is another word ("trai" of "nhà trai" is no "Trại").
            and (u.text not in self.ix.product_words or (u.text in self.ix.english_only and not wanted))
            and self.matcher.reaches(u, _mentioned(parsed), CONFIDENT)
        ]
        if not typos:
            return []
        others = [u for u in strays if u not in typos and u.role == "content" and u.stray >= STRAY_VIETNAMESE]
        return [replace(u, weight=1.0) for u in typos] + others

    def _beside_filter(self, strays: list[Unit], parsed: ParsedQuery) -> bool:
        """Is an unknown word of weight all the query has beside a place or a product group ("bơ Lục Ngạn",
        "thực phẩm chức năng")? Then it probably names a product the catalogue does not have. (Beside a need
        or a star rating, unknown words are more likely chat: "quà cho thầy giáo", "5 sao thôi".) So is any word
        that is no function word in a long message naming only a place and not asking what there is ("thợ điện
        ở Lục Ngạn", "a paediatrician in Bac Giang"): see `_browsing`."""
        if not (parsed.places or parsed.categories) or parsed.uses or parsed.stars is not None:
            return False
        if self._place_is_no_answer(strays, parsed):
            return True
        starts = SearchIndex._place_starts(parsed)
        cues = self.lexicon.destination_cues
        if any(
            u.stray >= STRAY_VIETNAMESE
            and any(s in (_end(u), _end(u) + 1) and tuple(parsed.keys[u.at : s]) not in cues for s in starts)
            for u in strays
        ):
            # The word right before the place, however long the message: "khoai lang Tân Yên còn không". (Not a way of
            # going there: "trip to Tân Yên", "ghé thành phố Bắc Giang".)
            return True
        if parsed.long and self._browsing(parsed):
            return False  # the rest is chat around asking what there is: "Yên Dũng có chi được OCOP, tui ghé chùa …"
        return sum(u.weight for u in strays if u.stray >= STRAY_VIETNAMESE) >= STRAY_VIETNAMESE

    def _place_is_no_answer(self, strays: list[Unit], parsed: ParsedQuery) -> bool:
        """A long message naming a place and no product group, need or star rating, with a word nobody listed that
        is no function word, and no word asking what there is: the place is where that other thing is wanted."""
        return (
            parsed.long
            and not (parsed.categories or parsed.uses or parsed.stars is not None)
            and any(u.stray >= STRAY_FOREIGN for u in strays)
            and not any(u.role == "common" for u in parsed.units)  # "na Lục Nam … gửi xe khách": na is a fruit too
            and not self._browsing(parsed)
        )

    def _place_hints(self, query: str, parsed: ParsedQuery, filters: dict[str, Any]) -> list[SearchHit]:
        """What the place or product group named has, as suggestions."""
        sliced = self._slice(query, parsed, dict(filters), SUGGESTIONS)
        return [SearchHit(h.doc, 50.0) for h in (sliced.results or sliced.suggestions)]

    def _browsing(self, parsed: ParsedQuery) -> bool:
        """Does the message ask what there is ("có những sản phẩm gì", "list the products")?"""
        browsing, keys = self.lexicon.browsing, parsed.keys
        return any(
            tuple(keys[i : i + m]) in browsing and not (i and keys[i - 1] == "cua" and keys[i] == "hang")  # a store
            for i in range(len(keys))
            for m in (1, 2, 3)
        )

    @staticmethod
    def _place_starts(parsed: ParsedQuery) -> set[int]:
        """Where the places the message names begin (word positions)."""
        places = {" ".join(p.key) for p in parsed.places}
        return {u.at for u in parsed.units if u.role == "soft" and u.text in places}

    def _either(
        self,
        content: list[Unit],
        soft: list[Unit],
        qkeys: frozenset[str],
        parsed: ParsedQuery,
        excluded: frozenset[int],
    ) -> tuple[dict[int, float], dict[str, Any], dict[int, int]]:
        """The products of each part of a query joined by "và", "hoặc", "and", "or", and which part each
        answers (so the answer can take turns: one wine, one tea, …)."""
        groups: list[list[Unit]] = [[]]
        joins = iter(sorted(parsed.joins))
        edge = next(joins, None)
        for u in sorted(content, key=lambda u: u.at):
            while edge is not None and u.at > edge:
                groups.append([])
                edge = next(joins, None)
            groups[-1].append(u)
        return self._parts([g for g in groups if any(not u.stray for u in g)], soft, qkeys, parsed, excluded)

    def _parts(
        self,
        groups: list[list[Unit]],
        soft: list[Unit],
        qkeys: frozenset[str],
        parsed: ParsedQuery,
        excluded: frozenset[int],
    ) -> tuple[dict[int, float], dict[str, Any], dict[int, int]]:
        """The products of each of several things asked for at once, and which one each answers."""
        if len(groups) < 2:
            return {}, {}, {}
        merged: dict[int, float] = {}
        applied: dict[str, Any] = {}
        part_of: dict[int, int] = {}
        for n, group in enumerate(groups):
            part = _cap_strays(group) if parsed.long else group
            scores, group_applied = self._score(part, soft, qkeys, parsed, CONFIDENT, excluded)
            applied = applied or group_applied
            for d, c in scores.items():
                if c > merged.get(d, 0.0):
                    merged[d], part_of[d] = c, n
        return merged, applied, part_of

    def _listed(self, content: list[Unit], parsed: ParsedQuery) -> list[list[Unit]]:
        """The product words of a message, one group to each clause holding a telling product name: a known
        phrase, or two product words side by side ("Hanh Thai noodles")."""
        starts = sorted(parsed.clauses)
        groups: dict[int, list[Unit]] = {}
        for u in content:
            if u.role == "content" and not u.stray:
                groups.setdefault(sum(1 for c in starts if c <= u.at), []).append(u)
        return [
            group
            for group in groups.values()
            if any(u.weight >= TELLING for u in group) or any(b.at == _end(a) for a, b in itertools.pairwise(group))
        ]

    def _asked_apart(self, content: list[Unit], parsed: ParsedQuery) -> Unit | None:
        """The one telling product phrase right after a word asking for goods ("cần", "mua", "tìm"), when the
        message's other telling product phrases are in other clauses (one word alone is too often another thing's:
        "nem chua Thanh Hóa … loại gói lá chuối")."""
        keys = parsed.keys
        telling = [u for u in content if u.weight >= TELLING and not u.stray and u.role == "content"]

        def after_asking(u: Unit) -> bool:
            i = u.at - 1
            while i > 0 and keys[i] in _WHICH_OF and i not in parsed.clauses:
                i -= 1  # "cần loại trà ngon", "mua ít mật ong"
            return i >= 0 and i + 1 not in parsed.clauses and (keys[i] in _ASKING_FOR or _buying_at(parsed, i))

        # A kind of product right after the asking word says which goods as well as a phrase does ("cần loại trà
        # ngon làm cốt", after "tự pha trà sữa").
        # (Not after "có", nor with more words right after it that may say which: "có chả bò Đà Nẵng không".)
        starts = {u.at for u in parsed.units if u.role in ("content", "elsewhere", "soft")}
        kinds = [
            u
            for u in content
            if u.role == "content"
            and not u.stray
            and u not in telling
            and self.parser.names_kind(u)
            and _end(u) not in starts
            # (nor one a phrase elsewhere begins with: it names that again, "gà đồi nướng …, có bán gà làm sẵn không")
            and not any(t.text.split()[0] == u.text and self.parser.in_catalogue(tuple(t.text.split())) for t in telling)
        ]
        asked = [u for u in telling + kinds if after_asking(u) and (u in telling or keys[u.at - 1] != "co")]
        if len(asked) != 1 or len(telling) < (1 if asked[0] in kinds else 2):
            return None
        one = asked[0]
        apart = all(
            any(min(one.at, u.at) < c <= max(one.at, u.at) for c in parsed.clauses) for u in telling if u is not one
        )
        return one if apart else None

    def _by_chance(self, content: list[Unit], parsed: ParsedQuery, scores: dict[int, float]) -> bool:
        """In a long message naming a need, are the product words found ordinary words that product names happen
        to share: one ("ôn thi đại học … bồi bổ": đại of Đại An; "bác sĩ bảo …": Bảo of Bảo Sơn), or several none
        of which stand side by side ("… my doctor says my liver numbers are bad": say, bad)? Then the need is the
        question, unless a product found serves it ("rượu làm quà biếu")."""
        if not (parsed.long and (parsed.uses or parsed.places)):
            return False
        placed = sorted((u for u in content if not u.stray), key=lambda u: u.at)
        if not placed or any(u.role != "content" or u.weight >= TELLING or u.text in parsed.names for u in placed):
            return False
        starts = self._place_starts(parsed)
        if any(0 <= start - _end(u) <= 1 for u in placed for start in starts):
            return False  # the product word of a place: "các loại giò của Bắc Giang"
        ends = {_end(u) for u in parsed.units if u.role == "soft" and u.at in starts}
        if any(u.at in ends and self.parser.names_kind(u) for u in placed):
            return False  # a kind right after the place: "đặc sản Bắc Giang gà có không"
        ix = self.ix
        if any(b.at == _end(a) for a, b in itertools.pairwise(placed)):
            return False  # two words side by side: "bánh chưng …", not chance
        keys = parsed.keys
        if any(
            (
                u.at == 0
                or _buying_at(parsed, u.at - 1)
                # "có trà gì uống cho mát không", "cần mật ong để …" (not "không có thịt", nor "có nước mía": more
                # words say which one)
                or (
                    keys[u.at - 1] in _ASKING_FOR
                    and u.alts[0].key in self.ix.lexicon.concept_index  # a kind the lexicon knows: not "có điểm nào"
                    and (u.at < 2 or keys[u.at - 2] not in _NOT_BUYING)
                    and (_end(u) >= len(keys) or _end(u) in parsed.clauses or keys[_end(u)] in _AFTER_ASKED)
                )
                or tuple(keys[max(0, u.at - 2) : u.at]) in _SEEKING
                or _liked(u, parsed)
            )
            and self._product_word(u)
            for u in placed
        ):
            # A kind of product bought or sought, or the message's first word ("mua ổi về biếu dc ko", "ổi biếu
            # bà được không", "looking for noodles … for my packed lunches"): guavas are asked for, as a gift.
            return False
        served = set().union(*(ix.by_use.get(u, set()) | ix.by_group_use.get(u, set()) for u in parsed.uses))
        wide = self._wide_places(parsed)
        placed_in = self._in_places([p for p in parsed.places if " ".join(p.key) not in wide])
        if not all(self._product_word(u) for u in placed):
            served = set()  # a word of a name ("phải đạo": Tuấn Đạo) serves no need, whatever the product is
        return scores.keys().isdisjoint(served | placed_in)

    def _wide_places(self, parsed: ParsedQuery) -> frozenset[str]:
        """The places named that hold most of the catalogue (the province it is in): they say nothing about
        which product is meant ("ở Bắc Giang có gì", "… tặng đặc sản Bắc Giang", "Bac Giang has good fruit")."""
        named = tuple((p.kind, p.key) for p in parsed.places)
        wide = self._wide_cache.get(named)
        if wide is None:
            half = len(self.ix.docs) / 2
            wide = frozenset(" ".join(p.key) for p in parsed.places if len(self._in_places([p])) > half)
            if len(self._wide_cache) > 10_000:
                self._wide_cache.clear()
            self._wide_cache[named] = wide
        return wide

    def _named_in_full(self, parsed: ParsedQuery, content: list[Unit]) -> dict[int, float]:
        """Products a long message names in full, word by word ("… muốn mua na dai Nghĩa Phương mà sợ …", "…
        stocking Huong Lac rice noodles …"), or by its first words and its last two, as people shorten names ("mỳ
        gạo Hằng Hiếu", "An Xoa Khánh Hoa"): whatever else it says, that is the product meant, unless another
        place's name, or a name the product lacks, stands beside it ("mật ong rừng U Minh" is not Sơn Động's). Where
        names overlap the longest wins; two products named apart are both meant ("ổi Thu Quế vs ổi Đồng Nga")."""
        keys, qkeys = parsed.keys, _mentioned(parsed)
        names = [u for u in content if u.role == "elsewhere" or u.text in parsed.names]
        spans: dict[tuple[int, int], list[int]] = {}  # (words said, where) → products
        pairs = set(zip(keys, keys[1:], strict=False))
        for i, pair in enumerate(zip(keys, keys[1:], strict=False)):
            if i in parsed.described:
                continue  # "áo thun in hình quả vải thiều Lục Ngạn" asks for a T-shirt
            for name, products in self.ix.full_names.get(pair, {}).items():
                said = _said_of(name, keys, i, pairs)
                if not said:
                    continue
                end = i + said
                # A name right before it, or after it with a word between ("… ở U Minh"), is the goods' origin; a
                # name inside it is its own ("An Xoa Khánh Hoa").
                beside = [u for u in names if u.at == end or u.at == end + 1 or (u.at < i and _end(u) == i)]
                for d in products:
                    if any(u.role == "elsewhere" or self.matcher.unit_q(u, d, qkeys) <= 0.0 for u in beside):
                        continue
                    spans.setdefault((said, i), []).append(d)
        taken: list[tuple[int, int, int]] = []  # (where, end, words said) of the names kept
        found: dict[int, float] = {}
        for (said, i), products in sorted(spans.items(), key=lambda span: -span[0][0]):
            if any(s < i + said and i < e and n > said for s, e, n in taken):
                continue  # inside a longer name said there ("rượu nếp" of "rượu nếp cái hoa vàng Vân Hương")
            taken.append((i, i + said, said))
            found.update(dict.fromkeys(products, 1.0))
        return found

    def _telling_route(self, content: list[Unit], soft: list[Unit], parsed: ParsedQuery) -> set[int] | None:
        """Can a partial match be telling at all, and among which products? An empty set: any product (a known
        phrase, a place, two words side by side); the products serving the need named, when only that could
        make one telling; None: no partial match can be (nor is one wanted beside another place's name)."""
        placed = [u for u in content if not u.stray]
        if any(u.role == "elsewhere" and _beside_any(u, placed) for u in content):
            return None  # another place's or maker's name beside the product words: "mật ong rừng U Minh"
        at = sorted(u.at for u in placed)
        if (
            any(u.weight >= TELLING for u in placed)
            or any(u.weight >= TELLING for u in soft)
            or any(b - a == 1 for a, b in zip(at, at[1:], strict=False))
        ):
            return set()
        if parsed.uses and placed:
            return self._used(parsed.uses) or None
        return None

    def _tells(
        self, d: int, content: list[Unit], soft: list[Unit], qkeys: frozenset[str], parsed: ParsedQuery
    ) -> bool:
        """Is a partial match telling: does product d have every known product phrase the query names ("bánh đa
        nem Thổ Hà" is no "Rượu … hạ thổ") and every word written as a name ("… Tây Tạng" is not ours), and
        beyond that a known phrase, a place, two words side by side, or the need the message names?"""
        quality = [self.matcher.unit_q(u, d, qkeys) for u in content]
        found = [u for u, q in zip(content, quality, strict=True) if q > 0.0]
        if all(u.stray for u in found):
            return False  # only the place or group it shares: that is the slice, not this product
        placed = [u for u in content if not u.stray and u.text not in parsed.names]
        needed = [
            u
            for u in content
            if (u.weight >= TELLING and not u.stray) or (u.text in parsed.names and _beside_any(u, placed))
        ]
        if any(u not in found for u in needed):
            return False
        if self._heads_found(found, placed, parsed):
            return False
        # Names of several words must be the product's as written: "rượu ngô Bắc Hà" is no "… Vân Hà, Bắc Giang".
        if any(d not in self.ix.phrase_docs(name) for name in parsed.name_phrases):
            return False
        if any(
            u.weight >= TELLING and not u.stray and q >= ACCENT_MISMATCH
            for u, q in zip(content, quality, strict=True)
        ):
            return True  # (a telling word found only with other marks and another spelling is no telling match)
        wide = self._wide_places(parsed)
        if any(
            u.weight >= TELLING and u.text not in wide and self.matcher.unit_q(u, d, qkeys) > 0.0 for u in soft
        ):
            return True
        at = sorted(u.at for u in found if not u.stray)
        if any(b - a == 1 for a, b in zip(at, at[1:], strict=False)):
            return True
        # A product word found in a product that serves the need named ("… nấu lẩu … măng"), not a word of its
        # name ("thực tập sinh": Lâm sinh).
        return any(self._product_word(u) for u in found) and any(use in self.ix.docs[d].uses for use in parsed.uses)

    def _heads_found(self, found: list[Unit], placed: list[Unit], parsed: ParsedQuery) -> bool:
        """Does a kind of product the product lacks head the words found ("trà gạo lứt": a tea of brown rice, not
        the noodles of brown rice; "brown rice tea" in English, the kind last)? Then they describe that kind."""
        found_at = {u.at: u for u in found if not u.stray}
        for u in placed:
            if u in found or not self._product_word(u):
                continue
            if " " not in u.text and not u.alts[0].accents[0] and could_be_vietnamese(u.text, u.text):
                continue  # one syllable typed plain is too often another word: "qua banh keo" is quà
            if parsed.english_words:
                if any(_end(f) == u.at for f in found_at.values()):
                    return True
            elif _end(u) in found_at:
                return True
        return False

    def _serves_the_product(self, parsed: ParsedQuery, content: list[Unit]) -> bool:
        """Is every service the message asks about one for a product it names in full before it ("snack gạo JOY sốt cay
        ngọt …, để làm thủ tục mã hàng", "mật ong hoa vải Hằng Hiếu: 100 hũ, in tem … thêm bao nhiêu")? Then the
        product is what is bought. Not a product cooked ("quán nào nấu gà đồi Yên Thế ngon, đặt bàn"): a restaurant."""
        said = f" {' '.join(parsed.keys)} "
        starts = [
            said[: said.index(name)].count(" ")
            for name in (f" {self._full_name(d)} " for d in self._named_in_full(parsed, content))
            if name in said
        ]
        if not starts:
            return False
        first = min(starts)
        if first and parsed.keys[first - 1] in _COOKED:
            return False
        spans = [start for kind in ("service", "department") for start, _ in parsed.ask_at.get(kind, ())]
        return bool(spans) and all(start > first for start in spans)

    def _said_in_full(self, parsed: ParsedQuery, content: list[Unit]) -> bool:
        """Does the message name a product word for word, its whole Vietnamese name?"""
        said = f" {' '.join(parsed.keys)} "
        return any(f" {self._full_name(d)} " in said for d in self._named_in_full(parsed, content))

    def _full_name(self, d: int) -> str:
        """Product d's Vietnamese name as folded words (cached); a name of one word is never "named in full"."""
        name = self._full_names.get(d)
        if name is None:
            words = fold_tokens(self.ix.docs[d].name_vi)
            name = self._full_names[d] = " ".join(words) if len(words) >= 2 else "\0"
        return name

    def _kinds_named(self, parsed: ParsedQuery) -> frozenset[str]:
        """The kinds of product the message's product words name (a product's first word: "nếp" names gạo nếp's
        kind through the lexicon): a product of such a kind ranks before one the word only describes (Rượu nếp;
        "gà đồi": Gà đồi before Giò gà)."""
        return frozenset(
            alt.key[0]
            for u in parsed.units
            if u.role == "content" and not u.stray and self._product_word(u)
            for alt in u.alts
            if alt.q >= LEXICON_ALT
        )

    def _product_word(self, u: Unit) -> bool:
        """Is the unit, as typed, a product word: one the lexicon knows ("xôi", "măng", "lychee") or the first word
        of a product's name ("Hương nến …"), not a word of a producer's or a place's name ("Lâm sinh", "Đa Mai")?"""
        return any(
            alt.key in self.ix.lexicon.concept_index or (len(alt.key) == 1 and alt.key[0] in self.parser.kind_heads)
            for alt in u.alts[:1]
        )

    def _producers_only(self, key: str) -> bool:
        """Is the word in the catalogue only in producers' or places' names, in no product's name?"""
        return key in self.ix.post and not self._named(key)

    def _compared_before(self, content: list[Unit], parsed: ParsedQuery) -> bool:
        """Is another place or its goods named in a clause of its own, before the clause that names the catalogue's
        place and asks what products there are, with no product word after it?"""
        others = [u for u in content if u.role == "elsewhere" or u.lacked]
        if not others:
            return False
        breaks = [c for c in parsed.clauses if c >= max(_end(u) for u in others)]
        starts = SearchIndex._place_starts(parsed)
        if not breaks or not starts:
            return False
        cut = min(breaks)
        return all(_end(u) <= cut or u.stray for u in content) and min(starts) >= cut and _products_asked(parsed)

    def _visit_elsewhere(self, parsed: ParsedQuery) -> bool:
        """Is the visit asked for at a place written as a name right after "ở", "tại", "in" or "at" that is none of
        the catalogue's places and in no product's name ("homestay in Pu Luong", not "ở Đông Bắc")?"""
        keys, names = parsed.keys, parsed.names
        ours = {k for p in parsed.places for k in p.key}
        for i, k in enumerate(keys[:-2]):
            name = keys[i + 1 : i + 3]
            if k in _AT and all(w in names and w not in ours for w in name) and not (
                self._named(name[0]) & self._named(name[1])
            ):
                return True
        return False

    def _named(self, key: str) -> set[int]:
        """Products with this word in a name, alias or English name (cached per index)."""
        found = self._named_cache.get(key)
        if found is None:
            found = set(self.ix.named_post.get(key, ()))
            self._named_cache[key] = found
        return found

    def _in_places(self, places: list[PlaceName], named: bool = True) -> set[int]:
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
                found |= self.ix.facet.get((p.kind, p.key), set())
                if named and p.key:
                    found |= set.intersection(*(self._named(k) for k in p.key))
            out = found if out is None else out & found
        return out if out is not None else set()

    def _excluded(self, exclusions: list[Exclusion], soft: bool = False) -> frozenset[int]:
        """Products ruled out (or, with `soft`, ruled out where others are left): those named by the product
        words the exclusions name or by their concepts (names only, not producers)."""
        out: frozenset[int] = frozenset()
        for target in {x.target for x in exclusions if x.soft == soft}:
            out |= self._named_as(target)
        return out

    def _named_as(self, target: Key) -> frozenset[int]:
        """Products named by these words or by what the lexicon says they stand for ("quả": every fruit), in a
        name, alias or English name (cached per index)."""
        found = self._named_as_cache.get(target)
        if found is None:
            alts = [Alt(target, 1.0, (None,) * len(target)), *self.parser.concept_alts(target, True, 1.0)]
            listed = self.matcher.merge([m for m in (self.matcher.alt_map(a, ACCENT_MISMATCH) for a in alts) if m])
            found = frozenset(d for d, q in listed.items() if q >= LEXICON_ALT * NAME)
            self._named_as_cache[target] = found
        return found

    def _used(self, uses: list[str]) -> set[int]:
        """Products that serve every need named ("quà tết": gift and Tết); when none does, those serving the most
        of them, the narrowest such set ("mê nấu ăn … sinh nhật … tặng gì": a gift for a cook or for a party,
        not every party food). When that leaves fewer than a short selection, those serving one need less join
        it (ranked after it, see _for_needs), each still keeping a diet or a need of the body named ("quà Vu Lan
        … mẹ ăn chay")."""
        sets = [self.ix.by_use.get(u, set()) | self.ix.by_group_use.get(u, set()) for u in uses]
        # Kept first: a diet, and a need of the body (sourced: liver, joints), which the occasion beside it does not
        # outweigh ("gan … sau mùa tiệc tất niên": An Xoa, not the party's wine).
        firm = {
            n for n, u in enumerate(uses) if (tag := self._tags.get(u)) is not None and (tag.diet or tag.basis == "sourced")
        }

        def level(size: int, keep: set[int]) -> list[set[int]]:
            return [
                found
                for part in itertools.combinations(range(len(sets)), size)
                if keep <= set(part) and (found := set.intersection(*(sets[n] for n in part)))
            ]

        # Failing every firm need at once, a need of the body outweighs a diet or a property of a drink ("thức khuya
        # … men gan cao": the liver, not the tea that keeps one awake).
        sourced = {n for n in firm if self._tags[uses[n]].basis == "sourced"}
        for keep in [k for k in (firm, sourced) if k] + [set()]:
            for size in range(len(sets), max(len(keep), 1) - 1, -1):
                served = level(size, keep)
                if not served:
                    continue
                narrowest = min(served, key=len)
                if len(narrowest) >= FEW_FOR_NEEDS or size <= max(len(keep), 1):
                    return narrowest
                return narrowest.union(*level(size - 1, keep))
        return set()

    def _starred(self, parsed: ParsedQuery) -> set[int] | None:
        if parsed.stars is None:
            return None
        levels = [
            n for n in self.ix.by_stars if (n >= parsed.stars if parsed.min_stars else n == parsed.stars)
        ]
        return set().union(*(self.ix.by_stars[n] for n in levels))

    def _readings(self, parsed: ParsedQuery) -> list[tuple[set[int] | None, dict[str, Any]]]:
        """Candidate restrictions from narrowest to none, each with the filters it amounts to."""
        places = self._in_places(parsed.places) if parsed.places else None
        groups = (
            set().union(*(self.ix.by_category.get(c, set()) for c in parsed.categories))
            if parsed.categories
            else None
        )
        place_filters = filters_of_places(parsed.places)
        group_filters = {"category": one_or_list(parsed.categories)} if parsed.categories else {}
        out: list[tuple[set[int] | None, dict[str, Any]]] = []
        if places is not None and groups is not None:
            out.append((places & groups, {**place_filters, **group_filters}))
        if places is not None:
            out.append((places, place_filters))
        if groups is not None:
            out.append((groups, group_filters))
        out.append((None, {}))
        if parsed.categories and all(c in KIN for c in parsed.categories):
            # A textile word says what the product is made of: with it "vải" is cloth, and lychee no answer
            # even when the catalogue has no cloth.
            kin = set().union(*(self.ix.by_category.get(k, set()) for c in parsed.categories for k in KIN[c]))
            out = [(kin if within is None else within & kin, applied) for within, applied in out]
        return out

    def _rank(
        self,
        scores: dict[int, float],
        optional: list[Unit],
        soft: list[Unit],
        parsed: ParsedQuery,
        limit: int,
        qkeys: frozenset[str],
    ) -> list[SearchHit]:
        """Order confident products: coverage first, then extra words found, name closeness, stars."""
        docs = self.ix.docs
        wanted = max(RERANK, limit)
        bonus: dict[int, float] | None = None
        top: list[int] | None = None
        if len(scores) > TOP_K_FROM:
            found = self._top_by_coverage(scores, optional, soft, parsed, wanted, qkeys)
            if found is not None:
                top, bonus = found
        if top is None or bonus is None:
            bonus = self._bonus(scores, optional, soft, parsed, qkeys)
            # One float per product so the selection runs in C: coverage and bonus, then stars, then catalogue
            # order.
            tiebreak = self.ix.tiebreak
            keyed = {d: c * 86.0 + tiebreak[d] for d, c in scores.items()}
            keyed.update({d: keyed[d] + (b if b < BONUS_CAP else BONUS_CAP) for d, b in bonus.items()})
            top = [d for d, _ in heapq.nlargest(wanted, keyed.items(), key=itemgetter(1))]
        # token_sort_ratio is ratio over sorted words; the products' names were sorted once, at build.
        words = " ".join(sorted(parsed.words))
        hits: list[SearchHit] = []
        for d in top:
            best = process.extractOne(words, self.ix.name_forms[d], scorer=fuzz.ratio)
            sim = best[1] if best else 0.0
            extra = min(bonus.get(d, 0.0), BONUS_CAP)
            score = 86.0 * scores[d] + 0.08 * sim + extra + 0.3 * (docs[d].stars or 0)
            hits.append(SearchHit(docs[d], round(min(100.0, score), 3)))
        hits.sort(key=lambda h: -h.score)
        return hits

    def _bonus(
        self,
        scores: dict[int, float],
        optional: list[Unit],
        soft: list[Unit],
        parsed: ParsedQuery,
        qkeys: frozenset[str],
    ) -> dict[int, float]:
        """Ranking points of every confident product: soft words, scaffolding words and needs it has."""
        budget = LIST_RATIO * len(scores)
        bonus: dict[int, float] = {}
        docs = self.ix.docs
        named_uses = [u for u in parsed.uses if u not in parsed.implied]
        if named_uses:
            # A need beside product words is a preference among the products found ("mật ong làm quà"), when
            # named: sent to a wife, lychees are still the lychees asked for.
            for d in scores:
                if any(u in docs[d].uses for u in named_uses):
                    bonus[d] = SOFT_POINTS
        kinds = self._kinds_named(parsed)
        if kinds:
            kind_of = self.ix.kind_of
            for d in scores:
                if kind_of[d][0] in kinds:
                    bonus[d] = bonus.get(d, 0.0) + SOFT_POINTS
        for units, points in ((soft, SOFT_POINTS), (optional, OPTIONAL_POINTS)):
            for u in units:
                look = self.matcher.lookup(u, qkeys, budget)
                hit = (
                    scores.keys() & look.keys()
                    if isinstance(look, dict)
                    else [d for d in scores if look(d) > 0.0]
                )
                get_bonus = bonus.get  # (a comprehension: a common word is in most of the products found)
                bonus.update({d: get_bonus(d, 0.0) + points for d in hit})
        return bonus

    def _top_by_coverage(
        self,
        scores: dict[int, float],
        optional: list[Unit],
        soft: list[Unit],
        parsed: ParsedQuery,
        wanted: int,
        qkeys: frozenset[str],
    ) -> tuple[list[int], dict[int, float]] | None:
        """The `wanted` best of many confident products, as `_bonus` and the full ordering would pick them,
        without finding the ranking points of all of them (issue 14: "nông nghiệp", "công ty TNHH" cover tens of
        thousands of products at national size).

        A product's key is 86 × coverage + its points (at most BONUS_CAP) + the tiebreak (stars, catalogue
        order). The points of a word that few products have are found for those products first; then each
        coverage level, best first, is walked in the tiebreak's order, every product asked for the common
        words, until no product left can beat the last of the best found so far: its coverage, all the common
        words' points and its tiebreak fall short. None when that walk grows long (the points are then spread
        thin): the caller ranks every product as before.
        """
        ix = self.ix
        n = len(scores)
        budget = LIST_RATIO * n
        docs = ix.docs
        # (points, the products having the word) for each rare word and need; the others as `Bonus`.
        rare: list[tuple[float, AbstractSet[int]]] = []
        common: list[Bonus] = []
        # Needs named only, as _bonus counts them: one only implied ("mang gì cho bố mẹ vợ") prefers none.
        uses = [u for u in parsed.uses if u not in parsed.implied]
        if uses:
            served = set().union(*(ix.by_use.get(u, set()) for u in uses))
            if len(served) * RARE_SHARE <= n:
                rare.append((SOFT_POINTS, served))
            else:
                common.append((SOFT_POINTS, lambda d: any(u in docs[d].uses for u in uses), [served]))
        kinds = self._kinds_named(parsed)
        if kinds:
            kind_of = ix.kind_of
            common.append((SOFT_POINTS, lambda d: kind_of[d][0] in kinds, None))
        for units, points in ((soft, SOFT_POINTS), (optional, OPTIONAL_POINTS)):
            for u in units:
                if u.found is not None:  # listed already (cached on the unit)
                    if len(u.found) * RARE_SHARE <= n:
                        rare.append((points, u.found.keys()))
                    else:
                        common.append((points, u.found.__contains__, [u.found]))
                elif self.matcher.estimate(u) * RARE_SHARE <= n:
                    look = self.matcher.lookup(u, qkeys, budget)  # a small listing (cached per index)
                    if isinstance(look, dict):
                        rare.append((points, look.keys()))
                    else:  # (never: a small listing is within the budget)
                        common.append((points, lambda d, look=look: look(d) > 0.0, None))
                else:
                    # Asked product by product: listing a word most products have costs a pass over all.
                    ask = self.matcher.asker(u, qkeys, ACCENT_MISMATCH)
                    common.append((points, lambda d, ask=ask: ask(d) > 0.0, [ix.alt_reach(a) for a in u.alts]))
        reach = sum(points for points, *_ in common)
        common_cap = reach if reach < BONUS_CAP else BONUS_CAP
        tiebreak = ix.tiebreak
        bonus: dict[int, float] = {}
        heap: list[tuple[float, int]] = []  # the best found so far: (key, product), the least first

        def consider(d: int, c: float, b: float) -> None:
            if b:
                bonus[d] = b
            key = c * 86.0 + tiebreak[d]
            if b:
                key = key + (b if b < BONUS_CAP else BONUS_CAP)
            if len(heap) < wanted:
                heapq.heappush(heap, (key, d))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (key, d))

        def points_of(d: int) -> float:
            b = 0.0
            for points, has, _reach in common:
                if has(d):
                    b += points
            return b

        remaining = collections.Counter(scores.values())  # products of each coverage not yet considered
        levels = sorted(remaining, reverse=True)
        # First the products having a rare word, and those of the best coverages when few products have them
        # (a product named "HTX …" among thousands made by one): then the walk below need not reach them.
        early: set[int] = set()
        for _points, products in rare:
            early.update(d for d in products if d in scores)
        taken = 0
        cut: float | None = None
        for c in levels:
            if remaining[c] >= wanted or taken + remaining[c] > WALK_SHARE * wanted:
                break
            cut, taken = c, taken + remaining[c]
        if cut is not None:
            early.update([d for d, c in scores.items() if c >= cut])
        for d in early:
            b = 0.0
            for points, products in rare:
                if d in products:
                    b += points
            c = scores[d]
            remaining[c] -= 1
            consider(d, c, b + points_of(d))
        # Then the others in the tiebreak's order (the catalogue's ranked order, or the products sorted into it
        # when they are few), until not even the best coverage still to come, with every common word's points
        # and this product's tiebreak, makes the best.
        level, last = 0, len(levels) - 1  # levels[level]: the best coverage still to come
        while level < last and remaining[levels[level]] == 0:
            level += 1
        ranked = ix.ranked
        order: Iterable[int]
        if n * SPARSE_LEVEL >= len(ranked):
            order = filter(scores.__contains__, ranked)
        else:
            order = sorted(scores, key=ix.rank_of.__getitem__)
        walked = 0
        least = float("-inf")
        passed: set[int] = set()
        for d in order:
            if d in early:
                continue
            c = scores[d]
            full = len(heap) == wanted
            if full:
                least = heap[0][0]
                if levels[level] * 86.0 + common_cap + tiebreak[d] + EPSILON < least:
                    break  # the rest come later in the tiebreak's order: none can make the best
            remaining[c] -= 1
            while level < last and remaining[levels[level]] == 0:
                level += 1
            passed.add(d)
            if full and c * 86.0 + common_cap + tiebreak[d] + EPSILON < least:
                continue
            walked += 1
            if walked > WALK_SHARE * wanted:
                return None
            consider(d, c, points_of(d))
            if walked > TIER_AFTER * wanted and len(common) > 0:
                # A long walk: the products still to come by the most points each can have, most first (the
                # best coverage still to come bounds them all).
                best_left = levels[level]

                def beaten(most: float, best_left: float = best_left) -> bool:
                    top = best_left * 86.0 + most + tiebreak[ranked[0]] + EPSILON
                    return len(heap) == wanted and top < heap[0][0]

                for most, part in _by_points(scores.keys() - early - passed, common, wanted, beaten):
                    rest: Iterable[int] = (
                        sorted(part, key=ix.rank_of.__getitem__)
                        if len(part) * SPARSE_LEVEL < len(ranked)
                        else filter(part.__contains__, ranked)
                    )
                    for e in rest:
                        ce = scores[e]
                        if len(heap) == wanted:
                            least = heap[0][0]
                            if best_left * 86.0 + most + tiebreak[e] + EPSILON < least:
                                break
                            if ce * 86.0 + most + tiebreak[e] + EPSILON < least:
                                continue
                        walked += 1
                        if walked > WALK_SHARE * wanted:
                            return None
                        consider(e, ce, points_of(e))
                break
        heap.sort(reverse=True)
        return [d for _key, d in heap], bonus

    def _having(self, content: list[Unit], qkeys: frozenset[str]) -> frozenset[int]:
        """Products with one of the message's product words (see _product_word: "xôi", "nếp", not a producer's
        "Bảo") in a name: a preference among a need's."""
        found: set[int] = set()
        for u in content:
            if not u.stray and u.role == "content" and self._product_word(u):
                found.update(d for d, q in self.matcher.unit_map(u, qkeys, ACCENT_MISMATCH).items() if q >= NAME)
        return frozenset(found)

    def _named_by_needs(self, parsed: ParsedQuery) -> frozenset[int]:
        """Products named by a kind-of-product word inside the phrases that named the needs ("thắp hương": incense,
        "nhắm rượu": wine)."""
        kind_of = self.ix.kind_of
        return frozenset(
            d
            for key, kind in parsed.use_products
            for d in (self._named(key) if kind else self._named_as((key,)))
            if not kind or kind_of[d][:1] == (key,)
        )

    def _slice(
        self,
        query: str,
        parsed: ParsedQuery,
        filters: dict[str, Any],
        limit: int,
        preferred: frozenset[int] = frozenset(),
    ) -> SearchAnswer:
        """A request for part of the catalogue (`4 sao Lục Ngạn`, `beverages`): every product that fits; for a
        need, those `preferred` first."""
        if parsed.categories:
            filters["category"] = one_or_list(parsed.categories)
        if parsed.places:
            filters.update(filters_of_places(parsed.places))
        if parsed.uses:
            filters["use"] = one_or_list(parsed.uses)
        uses = parsed.uses
        found, without_stars = self._filtered(parsed, uses)
        if not found and len(uses) > 1 and (parsed.places or parsed.categories or parsed.stars is not None):
            # No product of the place or group serves every need named ("đi ăn cưới ở Tân Yên, mua đặc sản về
            # làm quà"): those serving the most of them there.
            for part in (list(p) for n in range(len(uses) - 1, 0, -1) for p in itertools.combinations(uses, n)):
                found, without_stars = self._filtered(parsed, part)
                if found:
                    uses = part
                    filters["use"] = one_or_list(part)
                    break
        goods = [c for c in parsed.categories if c != "tourism"]  # (a visit is nothing to give, keep or cook)
        if (
            not found
            and uses
            and (goods or parsed.stars is not None)
            and all(tag.basis == "curated" for tag in use_tags() if tag.code in uses)
        ):
            # No product of the star rating or group named serves the need ("đồ ăn 4 sao Yên Thế để biếu",
            # "handicrafts … for my suitcase"): those products were asked for, the need was only a wish, and the
            # answer does not claim it. Not for a health need (a claim), nor for a place alone (often only where
            # the buyer is: "phòng khám xương khớp ở tp Bắc Giang").
            found, without_stars = self._filtered(parsed, [])
            if found:
                uses = []
                del filters["use"]
        elif not found and uses and parsed.categories and not goods and all(
            tag.basis == "curated" for tag in use_tags() if tag.code in uses
        ):
            # A visit serves no need for goods: the homestay or the trip named is where the buyer is ("ingredients
            # to cook with at my homestay", "đi du lịch Yên Thế mua gì làm quà").
            found, without_stars = self._filtered(replace(parsed, categories=[]), uses)
            if found:
                del filters["category"]
        if not found and parsed.places and (uses or "tourism" in parsed.categories) and _products_asked(parsed):
            # The place's products asked for ("đi chơi Yên Dũng, có sp OCOP nào", "Sơn Động có sp gì, e sắp đi
            # phượt"), none of them a visit or serving the need: the trip or the need is why, the place's products are
            # the answer.
            goods_only = [c for c in parsed.categories if c != "tourism"]
            found, without_stars = self._filtered(replace(parsed, categories=goods_only), [])
            if found:
                uses = []
                filters.pop("use", None)
                filters.pop("category", None)
                if goods_only:
                    filters["category"] = one_or_list(goods_only)
        if uses:
            preferred = preferred | self._named_by_needs(parsed) | self._small_gifts(parsed, uses)
        picked = self._for_needs(found, uses, limit, preferred) if uses else self._best_first(found, limit)
        results = [SearchHit(self.ix.docs[d], 100.0) for d in picked]
        suggestions: list[SearchHit] = []
        if not results and parsed.stars is not None and without_stars:
            # Nothing at that star level here: offer what the place or group does have.
            suggestions = [
                SearchHit(self.ix.docs[d], 50.0) for d in self._best_first(without_stars, SUGGESTIONS)
            ]
        return SearchAnswer(query, results, suggestions, filters, "", tuple(parsed.asks))

    def _filtered(self, parsed: ParsedQuery, uses: list[str]) -> tuple[set[int], set[int] | None]:
        """The products that fit every filter named (and serve `uses`), and the same before the star rating."""
        sets: list[set[int]] = []
        if uses:
            sets.append(self._used(uses))
        if parsed.categories:
            sets.append(
                set().union(
                    *(self.ix.by_category.get(c, set()) for c in parsed.categories),
                    *(
                        self.ix.by_use.get(u, set())
                        for u in uses
                        if (tag := self._tags.get(u)) is not None and set(tag.counts_as) & set(parsed.categories)
                    ),
                )
            )
        if parsed.places:
            sets.append(self._in_places(parsed.places, named=False))
        # (A single set is the category's union or the needs' or places' own, made for this query: it is not
        # copied again. At 100,000 products a group holds tens of thousands, and each copy costs a millisecond.)
        without_stars = (set.intersection(*sets) if len(sets) > 1 else sets[0]) if sets else None
        excluded = self._excluded(parsed.excluded)  # "đồ uống không cồn": drinks, but no rượu
        if excluded and without_stars is not None:
            without_stars = without_stars - excluded
        if parsed.stars is not None:
            levels = [
                n for n in self.ix.by_stars if (n >= parsed.stars if parsed.min_stars else n == parsed.stars)
            ]
            starred: set[int] = set().union(*(self.ix.by_stars[n] for n in levels))
            found = (starred if without_stars is None else starred & without_stars) - excluded
        else:
            found = without_stars if without_stars is not None else set()
        disliked = self._excluded(parsed.excluded, soft=True)  # "healthy drinks": no rượu, if others are left
        if disliked:
            kept = found - disliked
            if without_stars:
                # (Without a star rating they are the same products: the difference is made once.)
                kept_all = kept if without_stars is found else without_stars - disliked
                if kept_all:
                    without_stars = kept_all
            if kept:
                found = kept
        return found, without_stars

    def _for_needs(
        self, docs: set[int], uses: list[str], limit: int, preferred: frozenset[int] = frozenset()
    ) -> list[int]:
        """A short, varied selection for needs: products `preferred` first, then those tagged with the rarer needs
        named ("tặng gì cho người ốm": health before gift), the kinds most typical of them first (uses.json's
        `first`), then those of a group that answers the need (the herbal group), then the rest, each best-rated
        first; one of a kind (one wine, one tea…) before a second."""
        weight = {u: 1.0 / max(1, len(self.ix.by_use.get(u, ()))) for u in uses}
        tagged: dict[int, float] = {}
        for u in uses:
            for d in self.ix.by_use.get(u, set()) & docs:
                tagged[d] = tagged.get(d, 0.0) + weight[u]
        grouped = set().union(*(self.ix.by_group_use.get(u, set()) for u in uses)) & docs
        grouped -= tagged.keys()
        rest = docs - tagged.keys() - grouped
        rank_of = self.ix.rank_of
        depth = limit * 8  # enough to find `limit` kinds of product in practice
        typical = [self._typical(u) for u in uses]
        ordered = sorted(
            tagged,
            key=lambda d: (
                d not in preferred,
                -tagged[d],
                min((t.get(d, TYPICAL_NONE) for t in typical), default=TYPICAL_NONE),
                rank_of[d],
            ),
        )
        # A product for one function of the body the buyer did not name (liver, joints) answers a general need
        # ("bồi bổ sau mổ") after the group that answers it, unless the buyer prefers it.
        sourced = {t.code for t in self._tags.values() if t.basis == "sourced"} - set(uses)
        narrow = [d for d in ordered if d not in preferred and grouped and not sourced.isdisjoint(self.ix.docs[d].uses)]
        ordered = [d for d in ordered if d not in narrow]
        ordered += self._best_first(grouped, depth) + narrow + self._best_first(rest, depth)
        first: list[int] = []
        later: list[int] = []
        kinds: set[Key] = set()
        for d in ordered:
            kind = self.ix.kind_of[d]
            (later if kind in kinds else first).append(d)
            kinds.add(kind)
            if len(first) >= limit:
                break
        return (first + later)[:limit]

    def _small_gifts(self, parsed: ParsedQuery, uses: list[str]) -> frozenset[int]:
        """For a gift said to be small or cheap ("quà nhỏ xinh", "return gifts", "rẻ mà vui"), the gift products of
        the kinds offered first for that (uses.json's `small_first`)."""
        tag = self._tags.get("gift")
        keys, marked = parsed.keys, parsed.marked

        def small(i: int, k: str) -> bool:
            if k not in _SMALL:
                return False
            if _SMALL[k] is None or marked[i] == _SMALL[k]:
                return True
            # Typed plain, "nho" and "re" are other words too (grapes, "we're"): only right after the thing given.
            return marked[i] is None and i > 0 and keys[i - 1] in ANY_GOODS | {"phan", "tui", "gia"}

        if "gift" not in uses or tag is None or not any(small(i, k) for i, k in enumerate(keys)):
            return frozenset()
        if self._small_gift_docs is None:  # once per index
            kinds = [fold_tokens(k) for k in tag.small_first]
            self._small_gift_docs = frozenset(
                d
                for d in self.ix.by_use.get("gift", ())
                if any(fold_tokens(self.ix.docs[d].name_vi)[: len(kind)] == kind for kind in kinds)
            )
        return self._small_gift_docs

    def _typical(self, use: str) -> dict[int, int]:
        """How typical each product serving a need is of it: the place of its kind in the need's `first` list
        (catalog/data/uses.json), for the products whose Vietnamese name begins with one (cached per index)."""
        found = self._typical_cache.get(use)
        if found is None:
            tag = self._tags.get(use)
            kinds = [fold_tokens(k) for k in (tag.first if tag else ())]
            found = {}
            for d in self.ix.by_use.get(use, ()):
                words = fold_tokens(self.ix.docs[d].name_vi)
                n = next((n for n, kind in enumerate(kinds) if words[: len(kind)] == kind), None)
                if n is not None:
                    found[d] = n
            self._typical_cache[use] = found
        return found

    def _best_first(self, docs: set[int], limit: int) -> list[int]:
        if len(docs) * 8 < len(self.ix.ranked):
            return heapq.nsmallest(limit, docs, key=self.ix.rank_of.__getitem__)
        out: list[int] = []
        for d in self.ix.ranked:  # dense: walking the global order stops early
            if d in docs:
                out.append(d)
                if len(out) == limit:
                    break
        return out

    def _suggest(
        self,
        content: list[Unit],
        soft: list[Unit],
        qkeys: frozenset[str],
        excluded: AbstractSet[int] = frozenset(),
    ) -> list[SearchHit]:
        """Did-you-mean: products that have part of what was asked (typos included via the fuzzy alternatives).

        Either half the words with one of them clearly there ("vải thiều" in "vải thiều Thanh Hà"), or most of
        them, counting marks that disagree as a different word: "đường" (sugar) is no misspelt "Dương".
        """
        loose = self.matcher.cover(content, soft, qkeys, 0.5, max_candidates=200)
        picked: list[tuple[int, float]] = []
        total = sum(u.weight for u in content)
        for d, _ in heapq.nlargest(SUGGESTIONS * 4, loose.items(), key=lambda x: (x[1], -x[0])):
            if d in excluded:  # "rượu không cồn": no rượu, not even as a did-you-mean
                continue
            qs = [self.matcher.unit_q(u, d, qkeys, SUGGEST_MISMATCH) for u in content]
            c = sum(u.weight * q for u, q in zip(content, qs, strict=True)) / total
            if c >= 0.6 or (c >= 0.5 and max(qs) >= 0.9):
                picked.append((d, c))
        picked.sort(key=lambda x: (-x[1], self.ix.rank_of[x[0]]))
        return [SearchHit(self.ix.docs[d], round(60.0 * c, 1)) for d, c in picked[:SUGGESTIONS]]


# Ranking points a product may have: (points, a product → has it? test, the sets or postings every product that has
# them is in, or None: ask each product).
Bonus = tuple[float, Any, list[Container[int]] | None]


def _by_points(
    members: set[int], bonuses: list[Bonus], few: int, beaten: Callable[[float], bool]
) -> Iterator[tuple[float, set[int]]]:
    """`members` in parts, each with the most ranking points its products can have (at most BONUS_CAP), most first:
    by the words', kinds' and needs' products (or postings, a superset) they are among. All the points at once are
    seldom anyone's ("HTX Dịch vụ An Đông": the kind đông, htx and dịch vụ; "… Van Huong wine": wine among
    thousands of Vân), so a walk bounded by all of them would not stop until it has seen every product.

    Lazily, best first: a part is split by the next bonus only when it is the most promising and bigger than `few`;
    none is once `beaten(the most points left)` says the best found can no longer be beaten. Bonuses with sets go
    first (met in C), those asked product by product last (on what is left of the parts by then)."""
    bonuses = sorted(bonuses, key=lambda b: b[2] is None)
    after = [0.0] * (len(bonuses) + 1)  # the points of the bonuses from i on
    for i in range(len(bonuses) - 1, -1, -1):
        after[i] = after[i + 1] + bonuses[i][0]
    # (−the most its products can have, a counter, the next bonus, the points found, the part)
    queue: list[tuple[float, int, int, float, set[int]]] = [(-after[0], 0, 0, 0.0, members)]
    made = 1
    while queue:
        most, _n, i, got, part = heapq.heappop(queue)
        if beaten(-most if -most < BONUS_CAP else BONUS_CAP):
            return
        if i == len(bonuses) or len(part) <= few:
            yield (-most if -most < BONUS_CAP else BONUS_CAP), part
            continue
        points, has, reach = bonuses[i]
        having: set[int] = set()
        if reach is None:  # (a kind: each product is asked, cheaply)
            having = {d for d in part if has(d)}
        for products in {id(p): p for p in reach or ()}.values():
            # (The smaller side is walked: a word's postings are dicts, a phrase's products or a need's sets.)
            if isinstance(products, dict):
                found = part.intersection(products) if len(products) < len(part) else products.keys() & part
            else:
                found = part & products  # type: ignore[operator]
            having |= found
        for add, sub in ((points, having), (0.0, part - having)):
            if sub:
                heapq.heappush(queue, (-(got + add + after[i + 1]), made, i + 1, got + add, sub))
                made += 1


def _read_word_lists() -> None:
    """Read the stopword lists (`register`, once per process) and the answer gate (its trees made a function, about
    35 ms) as an index is made or loaded, not as the first query that meets a function word or is gated is answered
    (2–3 ms of CPU for the lists)."""
    is_stopword("", "")
    answer_gate()


def filters_of_places(places: list[PlaceName]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("province", "district", "commune"):
        values = [p.value for p in places if p.kind == kind]
        if values:
            out[kind] = one_or_list(values)
    return out


def one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _end(u: Unit) -> int:
    return u.at + len(u.text.split())


def _said_of(name: Key, keys: list[str], i: int, pairs: set[tuple[str, str]]) -> int:
    """How many words from position i say this name: all of it, or its first two words or more and its last two,
    the words between left out ("bún tươi Thắng Thủy" for Bún tươi sạch Thắng Thủy); 0 when neither. `pairs`: the
    query's adjacent words (a name whose last two words the query lacks is not said shortened)."""
    n = len(name)
    if tuple(keys[i : i + n]) == name:
        return n
    if n < 5 or name[-2:] not in pairs:
        return 0
    for a in range(2, n - 2):  # the first words kept, the last two (a producer's or a village's name) too
        if keys[i + a : i + a + 1] == [name[a]]:
            continue  # more of the name goes on: a longer first part, tried next
        for b in range(a + 1, n - 1):
            if tuple(keys[i + a : i + a + n - b]) == name[b:] and tuple(keys[i : i + a]) == name[:a]:
                return a + n - b
    return 0


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Words between two spans of word positions (negative when they overlap)."""
    return b[0] - a[1] if b[0] >= a[1] else a[0] - b[1]


def _beside(a: tuple[int, int], b: tuple[int, int], clauses: frozenset[int]) -> bool:
    """Are two spans of word positions at most a word apart, in one clause ("ở Phan Thiết, nên mang gì": no)?"""
    if _gap(a, b) > 1:
        return False
    lo, hi = sorted((a, b))
    return not any(lo[1] <= c <= hi[0] for c in clauses)


def _chained(
    placed: list[Unit], units: list[Unit], clauses: frozenset[int]
) -> Iterator[tuple[int, int]]:
    """The spans of the placed units and of the other units that follow on from one, word by word in one clause
    (the words nobody listed after a product word, "thịt trâu gác bếp", reach a name beside them: "… Sơn La")."""
    spans = [(u.at, _end(u)) for u in placed]
    yield from spans
    for u in sorted((u for u in units if u not in placed), key=lambda u: u.at):
        span = (u.at, _end(u))
        if any(_beside(s, span, clauses) for s in spans):
            spans.append(span)
            yield span


def _beside_any(u: Unit, others: list[Unit]) -> bool:
    """Does u stand right beside (at most one word away from) one of the others?"""
    return any(o is not u and _gap((u.at, _end(u)), (o.at, _end(o))) <= 1 for o in others)


def _liked(u: Unit, parsed: ParsedQuery) -> bool:
    """Is the unit what somebody is said to like, drink or eat ("thích uống rượu", "mê trà", "loves honey")? Marks,
    where typed, must be the verb's: "mẹ" is no "mê"."""
    keys, marked = parsed.keys, parsed.marked
    i = u.at - 1

    def fits(j: int, words: dict[str, str | None]) -> bool:
        if j < 0 or j + 1 in parsed.clauses or keys[j] not in words:
            return False
        if marked[j] is None:
            return keys[j] not in _MARKED_ONLY
        return marked[j] == words[keys[j]]

    end = _end(u)
    if end < len(keys) and end not in parsed.clauses and keys[end] not in _AFTER_LIKED:
        return False  # more words may say which one: "thích rượu sim", "thích bưởi da xanh"
    while i >= 0 and keys[i] in _HOW_MUCH:  # "nhâm nhi chút rượu"
        i -= 1
    if fits(i, _CONSUMING):
        i -= 1
    return fits(i, _LIKING)


def _bought(u: Unit, parsed: ParsedQuery) -> bool:
    """Is the unit what a buying verb names, a quantity at most between ("mua ít mắm tôm"), in one clause? Not a
    word that names no goods ("mua ít đồ")."""
    keys = parsed.keys
    if u.text in ANY_GOODS or u.text in _HOW_MUCH or u.text in _HOW:
        return False
    i = u.at - 1
    while i >= 0 and i + 1 not in parsed.clauses and (keys[i] in _HOW_MUCH or keys[i].isdigit()):
        i -= 1
    if i < 0 or i + 1 in parsed.clauses or not _buying_at(parsed, i):
        return False
    return not (i and keys[i - 1] in _NOT_BUYING)  # "khỏi mua sữa": no need to buy it


def _products_asked(parsed: ParsedQuery) -> bool:
    """Does the message ask for products in general ("có sp OCOP nào", "what products"), not "not products"?"""
    keys = parsed.keys
    return any(
        (k in _PRODUCTS or tuple(keys[i : i + 2]) in _PRODUCTS_SAID) and not (i and keys[i - 1] in _NOT_BUYING)
        for i, k in enumerate(keys)
    )


def _says_what(parsed: ParsedQuery, goods: bool = False) -> bool:
    """Does the message name goods, a place, a rating, a product group or a need (not only a detail of them)? With
    `goods`, goods only. (A count after a number names none: "à nhầm, 1 cặp" corrects a detail.)"""
    return any(
        u.role == "elsewhere"
        or (u.role == "content" and not (u.stray and u.text in COUNT_UNITS and u.at and parsed.keys[u.at - 1].isdigit()))
        for u in parsed.units
    ) or (
        not goods and bool(parsed.places or parsed.stars is not None or parsed.categories or parsed.uses)
    )


def _sought(u: Unit, parsed: ParsedQuery) -> bool:
    """Is the unit what a verb of buying names ("mua Pringles") or what somebody is looking for ("looking for
    granola")?"""
    return _bought(u, parsed) or tuple(parsed.keys[max(0, u.at - 2) : u.at]) in _SEEKING


def _sold_asked(parsed: ParsedQuery, end: int | None = None) -> bool:
    """Does the message (or its clause ending at `end`) end asking whether something is sold or in stock ("… có
    bán không", "… còn hàng không", "… có bán hông shop")? "Không" as chat and the south write it counts."""
    keys = _untailed(parsed.keys[: len(parsed.keys) if end is None else end])
    tail = " ".join("khong" if k in _NO_WORDS else k for k in keys[-4:])
    return any(frame in tail for frame in ("co ban khong", "con hang khong", "con khong", "co khong"))


def _untailed(keys: list[str]) -> list[str]:
    """The words of a question without the chat after its end ("… có bán hông shop", "… có không ạ")."""
    while keys and keys[-1] in _TAIL_CHAT:
        keys = keys[:-1]
    return keys


def _clause_asks_if_sold(u: Unit, parsed: ParsedQuery) -> bool:
    """Does the unit open its clause ("bông bí tươi …", or after "có": "có ếch đồng làm sạch …"), and does that
    clause ask whether it is sold ("… có bán không", "có … hông")?"""
    start = max((c for c in parsed.clauses if c <= u.at), default=0)
    keys = parsed.keys
    if not (u.at == start or (u.at == start + 1 and keys[start] == "co")):
        return False
    end = min((c for c in parsed.clauses if c > u.at), default=len(keys))
    if keys[start] == "co":  # "có … không", whatever between
        asked = _untailed(keys[start:end])
        return len(asked) > 2 and asked[-1] in _NO_WORDS
    return _sold_asked(parsed, end)


def _buying_at(parsed: ParsedQuery, i: int) -> bool:
    """Is word i a verb of buying, ordering or selling, as typed ("mua", "đặt", "lấy", "có bán", "do you sell")?
    Typed with other marks it is another word: "mùa hè" (summer), "bản" (village)."""
    key, typed = parsed.keys[i], parsed.marked[i]
    if key in _BUYING:
        return typed is None
    if key == "ban":  # bán (sell), typed plain only after "có" or "đang": "có ban X không"
        return typed == "ban1" or (typed is None and i > 0 and parsed.keys[i - 1] in ("co", "dang"))
    return key in _SELLING and typed == _SELLING[key]


def _cap_strays(content: list[Unit]) -> list[Unit]:
    """In a long message, words nobody listed never outweigh the placed product words (STRAY_SHARE); but one
    saying which kind of product is asked for ("có rượu sim không ạ") is no chat (Unit.kind_word)."""
    placed = sum(u.weight for u in content if not u.stray)
    strays = sum(u.weight for u in content if u.stray and u.role == "content" and not u.kind_word)
    if not placed or strays <= STRAY_SHARE * placed:
        return content
    f = STRAY_SHARE * placed / strays
    return [
        replace(u, weight=u.weight * f) if u.stray and u.role == "content" and not u.kind_word else u for u in content
    ]


def _mentioned(parsed: ParsedQuery) -> frozenset[str]:
    """Words the query mentions, typo corrections included: a compound part counts as that compound when its
    partner is among them ("mat ong hao vai": "hao" → "hoa", so "vải" is in "hoa vải")."""
    return frozenset(
        k for u in parsed.units for a in u.alts if not a.sound and len(a.key) == 1 for k in a.key
    )


def _taking_turns(hits: list[SearchHit], part: dict[str, int]) -> list[SearchHit]:
    """Hits of a query in parts ("rượu và trà"), one of each part in turn, each part best first."""
    queues: dict[int, list[SearchHit]] = {}
    for hit in hits:
        queues.setdefault(part[hit.doc.slug], []).append(hit)
    out: list[SearchHit] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                out.append(queue.pop(0))
    return out
