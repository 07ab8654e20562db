"""Reads what a free-text message asks for (where to buy, whom to contact, how many, a follow-up…), in vi or en.

The catalogue search does the product matching; this module only finds the question around the product
words, strips it, and hands the rest on. Phrases are written here with their Vietnamese diacritics: a word
the user typed with marks must carry the same marks to match ("bán" sell ≠ "bản" village), a word typed
without marks matches on its folded form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from catalog.places import district_centre
from catalog.text import MAX_QUERY_CHARS, accent_key, clean, fold, fold_word, has_marks

# What a message can ask for; PRODUCT (a catalogue search) is the fall-through.
PRODUCT = "product"
WHERE = "where"
CONTACT = "contact"
HOW_MANY = "how_many"
STARS = "stars"
WHAT_IS_OCOP = "what_is_ocop"
HELP = "help"
GREETING = "greeting"
THANKS = "thanks"
ORDINAL = "ordinal"
LANGUAGE = "language"
BROWSE = "browse"
CERTIFICATE = "certificate"  # "OCOP chính hãng?", "còn hạn không", "is it really OCOP certified"

LAST = -1  # ordinal for "the last one"


@dataclass(frozen=True, slots=True)
class Intent:
    """What the user asked, and the words left for the catalogue search once the question is stripped."""

    kind: str
    query: str = ""
    ordinal: int | None = None  # 1-based position in the last list, or LAST
    language: str | None = None
    near: bool = False  # "near me", "gần đây": the user wants the nearest store
    place: str | None = None  # a former district named as where the user is ("… ở Lục Ngạn", "in Viet Yen")
    # For a where question, what to search the catalogue for: the message as written, less the user's place
    # (the search reads "mua", "ở đâu" itself; taken out, a message reads otherwise than the same words typed
    # as a search: "Nhà mình ở Biên Hòa, muốn mua na dai Nghĩa Phương …").
    search: str = ""


@dataclass(frozen=True, slots=True)
class Word:
    raw: str  # lowercase, as written
    folded: str
    span: tuple[int, int] = (-1, -1)  # where it was written in the cleaned message (see `rejoin`)
    at: int = -1  # which written piece it is (a piece may fold to several words)


_WORD = re.compile(r"[^\W_]+|[#★⭐]")
_CLAUSE_BREAK = re.compile(r"[,.;!?]")


def _written(text: str) -> str:
    return clean(text)[:MAX_QUERY_CHARS]


def words(text: str) -> list[Word]:
    """Lowercase words of `text` with their folded forms (punctuation dropped, '#' and '★' kept). A new list each
    call (the words themselves are frozen): the intent's reading and the wholesale triggers read the same message."""
    return list(_words(text))


@lru_cache(maxsize=256)
def _words(text: str) -> tuple[Word, ...]:
    out: list[Word] = []
    for at, m in enumerate(_WORD.finditer(_written(text))):
        piece, span = m.group().lower(), m.span()
        folded = fold_word(piece)
        if piece in "#★⭐":
            out.append(Word(piece, piece, span, at))
        elif folded:
            parts = folded.split()
            out.extend(Word(piece if len(parts) == 1 else part, part, span, at) for part in parts)
    return tuple(out)


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> tuple[tuple[str, str | None], ...]:
    """A phrase as (folded word, accent key or None when written without marks)."""
    return tuple((fold(w), accent_key(w) if has_marks(w) else None) for w in phrase.lower().split())


def _word_matches(word: Word, folded: str, accent: str | None) -> bool:
    if word.folded != folded:
        return False
    # Typed without marks: the folded form decides. Typed with marks: they must agree with the phrase's.
    return accent is None or not has_marks(word.raw) or accent_key(word.raw) == accent


def find_phrase(ws: list[Word], phrase: str, start: int = 0) -> int:
    """Index where `phrase` starts in `ws` (from `start`), or -1."""
    pat = _pattern(phrase)
    n = len(pat)
    first = pat[0][0] if n else None
    for i in range(start, len(ws) - n + 1):
        if first is not None and ws[i].folded != first:
            continue  # (the cheap look first: most places do not even start the phrase)
        if all(_word_matches(ws[i + j], *pat[j]) for j in range(n)):
            return i
    return -1


@lru_cache(maxsize=512)
def _by_first_word(phrases: tuple[str, ...]) -> dict[str | None, tuple[str, ...]]:
    """The phrases by the folded form of their first word (each in its order among `phrases`); None: blank ones."""
    grouped: dict[str | None, list[str]] = {}
    for phrase in phrases:
        pat = _pattern(phrase)
        grouped.setdefault(pat[0][0] if pat else None, []).append(phrase)
    return {first: tuple(group) for first, group in grouped.items()}


def has_any(ws: list[Word], phrases: tuple[str, ...]) -> bool:
    """Does any of `phrases` occur in `ws`? Only the phrases whose first word the message has are tried (a phrase
    can only start at a word of the same folded form): the same answer as trying each, without walking the
    message once per phrase (a wholesale trigger list has dozens)."""
    first = _by_first_word(phrases)
    if None in first:  # a blank phrase is found anywhere (as find_phrase finds it)
        return True
    tried: set[str] = set()
    for word in ws:
        group = first.get(word.folded)
        if group is not None and word.folded not in tried:
            tried.add(word.folded)
            if any(find_phrase(ws, p) >= 0 for p in group):
                return True
    return False


@lru_cache(maxsize=512)
def _longest_first(phrases: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """`phrases` longest first (stable), each with the folded form of its first word (None: a blank phrase)."""
    ordered = sorted(phrases, key=lambda p: -len(p.split()))
    return tuple((phrase, _pattern(phrase)[0][0] if _pattern(phrase) else None) for phrase in ordered)


def _may_start(first: str | None, present: set[str]) -> bool:
    """Can a phrase with this first word occur in a message with these folded words? (A blank phrase can.)
    Taking words out of a message never brings in a word it did not have, so the message's own words answer for
    what is left of it too."""
    return first is None or first in present


def remove_phrases(ws: list[Word], phrases: tuple[str, ...]) -> list[Word]:
    """`ws` without every occurrence of any of `phrases` (longest phrases first)."""
    out = list(ws)
    present = {w.folded for w in ws}
    for phrase, first in _longest_first(phrases):
        if not _may_start(first, present):
            continue  # (most phrases of a list: trying each on every message was most of a message's reading)
        n = len(_pattern(phrase))
        i = find_phrase(out, phrase)
        while i >= 0:
            del out[i : i + n]
            i = find_phrase(out, phrase, i)
    return out


def only(ws: list[Word], phrases: tuple[str, ...], fillers: tuple[str, ...]) -> bool:
    """True when the message is one of `phrases` and nothing else but `fillers` (politeness, names)."""
    present = {w.folded for w in ws}
    for phrase, first in _longest_first(phrases):
        if not _may_start(first, present):
            continue
        i = find_phrase(ws, phrase)
        if i >= 0 and not remove_phrases(ws[:i] + ws[i + len(_pattern(phrase)) :], fillers):
            return True
    return False


def rejoin(ws: list[Word], text: str | None = None) -> str:
    """The words left of a message, as one string. With the message `text` they were read from, as the buyer
    wrote them: case kept (a name mid-sentence is a name to the search), the writing between words that stood
    side by side kept, and a clause break kept where words between were taken out ("… Kon Tum, biếu bố vợ")."""
    if text is None or any(w.at < 0 for w in ws):
        return " ".join(w.raw for w in ws)
    written = _written(text)
    out: list[str] = []
    last: Word | None = None
    for w in ws:
        if last is not None and w.at == last.at:
            continue  # another word of the same written piece
        if last is not None:
            between = written[last.span[1] : w.span[0]]
            if w.at == last.at + 1:
                out.append(between)
            else:
                out.append(", " if _CLAUSE_BREAK.search(between) else " ")
        out.append(written[w.span[0] : w.span[1]])
        last = w
    return "".join(out).strip()


# --- phrase lists -------------------------------------------------------------------------------------

POLITE = (
    "ạ", "à", "nhé", "nhe", "nha", "ơi", "bot", "ad", "admin", "shop", "bạn", "bạn ơi", "em", "anh", "chị",
    "mình", "tôi", "cháu", "với", "đi", "nào", "vậy", "xin", "vui lòng", "làm ơn", "hãy", "cho", "giúp",
    "please", "pls", "plz", "thanks", "thank you", "there", "everyone", "again", "ok", "okay", "oke", "ừ", "vâng",
    "dạ", "the", "bro", "sir", "madam", "a",
)

GREETINGS = (
    "xin chào", "chào", "chào bạn", "chào shop", "chào buổi sáng", "chào buổi chiều", "chào buổi tối", "alo",
    "a lô", "hello", "hi", "hey", "hiya", "good morning", "good afternoon", "good evening", "greetings", "yo",
    "hế lô", "hí", "chao xìn",
)
THANKS_PHRASES = (
    "cảm ơn", "cám ơn", "cảm ơn nhiều", "cám ơn nhiều", "camon", "thank", "thanks", "thank you", "thanks a lot",
    "thank you very much", "many thanks", "tks", "thx", "ty",
)
HELP_PHRASES = (
    "help", "giúp", "giúp đỡ", "trợ giúp", "hướng dẫn", "menu", "bắt đầu", "start", "main menu", "menu chính",
    "what can you do", "how does this work", "how to use", "bạn làm được gì", "bạn giúp được gì", "bot làm được gì",
    "cách dùng", "sử dụng thế nào", "dùng thế nào", "bạn là ai", "who are you", "tùy chọn", "options",
)
BROWSE_PHRASES = (
    "browse", "browse products", "catalogue", "catalog", "categories", "product groups", "list products",
    "all products", "danh mục", "danh mục sản phẩm", "xem danh mục", "duyệt", "duyệt sản phẩm", "nhóm sản phẩm",
    "xem theo nhóm", "xem tất cả", "tất cả sản phẩm", "danh sách sản phẩm", "xem danh sách", "show all",
)

LANGUAGE_NAMES = {
    "en": ("english", "tiếng anh", "anh ngữ", "eng", "en"),
    "vi": ("vietnamese", "tiếng việt", "tiếng việt nam", "việt", "viet", "vi", "tv"),
}
LANGUAGE_FILLERS = (
    "please", "pls", "in", "speak", "speaking", "switch", "switch to", "change", "change to", "use", "language",
    "talk", "answer", "reply", "can you", "could you", "you", "i", "want", "prefer", "to", "set", "only",
    "bằng", "nói", "dùng", "chuyển", "chuyển sang", "đổi", "đổi sang", "sang", "ngôn ngữ", "xin", "vui lòng",
    "hãy", "đi", "nhé", "ạ", "được", "không", "trả lời", "với", "mình", "em", "tôi", "cho", "bạn", "muốn",
    "ok", "thôi", "lại", "the",
)

# A wholesale enquiry asked for in words ("mua sỉ", "bulk order").
WHOLESALE_PHRASES = (
    "mua sỉ", "bán sỉ", "giá sỉ", "lấy sỉ", "nhập sỉ", "đặt sỉ", "mua buôn", "bán buôn", "giá buôn",
    "số lượng lớn", "đặt hàng số lượng lớn", "mua số lượng lớn", "đặt hàng sỉ", "nhập hàng", "làm đại lý",
    "wholesale", "bulk", "bulk order", "bulk buy", "buy in bulk", "in bulk", "bulk purchase", "bulk enquiry",
    "bulk inquiry", "large order", "large quantity", "large quantities",
)

WHERE_CUES = (
    "ở đâu", "ở chỗ nào", "chỗ nào", "nơi nào", "tại đâu", "đâu bán", "đâu có bán", "mua ở đâu", "bán ở đâu",
    "có bán", "bán ở", "mua ở", "mua tại", "mua", "muốn mua", "cần mua", "tìm mua", "đặt mua", "đi mua", "nơi bán",
    "chỗ bán", "điểm bán", "cửa hàng", "cửa hàng nào", "shop nào", "đại lý", "địa chỉ mua", "địa chỉ bán",
    "mua được", "chỗ mua", "ai bán", "where", "where can i buy", "where to buy", "where do i buy", "where can i get",
    "where can i find", "where is", "where are", "where does", "who sells", "buy", "purchase", "shop", "shops",
    "store", "stores", "stockist", "stockists", "outlet", "outlets", "sold", "sells", "sell", "selling",
)
# Cue words that only say "where to buy" with help from another cue ("ở đâu" alone could ask where a thing
# is made; "mua" alone usually is a buyer naming a product): see `_is_where`.
_STRONG_WHERE = (
    "ở đâu", "chỗ nào", "nơi nào", "tại đâu", "đâu bán", "đâu có bán", "nơi bán", "chỗ bán", "điểm bán",
    "cửa hàng", "đại lý", "địa chỉ mua", "địa chỉ bán", "chỗ mua", "ai bán", "where", "who sells", "buy",
    "purchase", "shops", "store", "stores", "stockist", "stockists", "outlet", "outlets", "sold", "mua",
)
NEAR_CUES = (
    "gần nhất", "gần đây", "gần tôi", "gần mình", "gần em", "quanh đây", "near me", "nearest", "nearby",
    "closest", "near here", "around here",
)

CONTACT_CUES = (
    "liên hệ", "liên lạc", "số điện thoại", "điện thoại", "sđt", "sdt", "số đt", "email", "e-mail", "mail",
    "hotline", "zalo", "contact", "contacts", "phone", "phone number", "call", "reach", "get in touch", "gọi điện",
    "gọi cho", "gọi điện cho", "how can i call", "how do i call", "how to call", "can i call", "call the",
    "how can", "how do", "thế nào", "như thế nào", "người bán", "người làm",
    "who makes", "who made", "who produces", "who produced", "who is the producer", "producer of", "maker of",
    "manufacturer of", "who grows", "ai làm", "ai sản xuất", "ai trồng", "ai bán", "nhà sản xuất", "đơn vị sản xuất",
    "cơ sở sản xuất", "htx nào", "hợp tác xã nào", "công ty nào", "cơ sở nào", "của htx nào", "của ai",
    "do ai", "do htx nào", "hộ nào", "thông tin liên hệ", "for", "of", "do i", "should i", "can i", "i", "producer", "producers", "maker", "makers",
    "manufacturer", "cooperative", "which cooperative", "which company", "who",
)
_STRONG_CONTACT = (
    "liên hệ", "liên lạc", "số điện thoại", "điện thoại", "sđt", "sdt", "số đt", "email", "hotline", "contact",
    "contacts", "phone", "phone number", "who makes", "who made", "who produces", "who produced",
    "who is the producer", "producer of", "maker of", "manufacturer of", "who grows", "ai làm", "ai sản xuất",
    "ai trồng", "nhà sản xuất", "đơn vị sản xuất", "cơ sở sản xuất", "htx nào", "hợp tác xã nào", "công ty nào",
    "cơ sở nào", "của ai", "do ai", "hộ nào", "which cooperative", "which company", "get in touch",
    # "call" alone is also "call me" (a phone answer in the form): only a question about someone to call
    "how can i call", "how do i call", "how to call", "can i call", "call the", "gọi điện cho htx", "gọi cho htx",
    "gọi điện cho hợp tác xã", "gọi cho hợp tác xã", "gọi điện cho công ty", "gọi cho công ty", "gọi điện thế nào",
)

HOW_MANY_CUES = (
    "how many", "number of", "count", "total", "how much products", "bao nhiêu sản phẩm", "bao nhiêu sp",
    "có bao nhiêu", "bao nhiêu", "mấy sản phẩm", "mấy sp", "số lượng", "tổng số", "tổng cộng", "có mấy",
    "bao nhiêu loại", "mấy loại",
)
# Words around a count question that name no product: "how many OCOP products are there in total".
HOW_MANY_FILLERS = (
    "are there", "is there", "there are", "there is", "products", "product", "items", "in total", "total",
    "do you have", "does it have", "have", "has", "you", "in the catalogue", "in the catalog", "listed", "sản phẩm",
    "sp", "có", "tất cả", "tổng cộng", "hiện có", "đang có", "được công nhận", "đạt", "loại", "mặt hàng", "all",
)
_PRICE_WORDS = ("tiền", "giá", "đồng", "price", "cost", "kg", "cân", "ký", "lít", "hộp", "chai", "vnd", "dollar")

# A buyer checking a product's OCOP recognition: is it genuine, is the certificate still valid.
CERTIFICATE_CUES = (
    "chính hãng", "hàng thật", "hàng giả", "có thật", "thật không", "thật ko", "ocop thật", "thật sự", "giả không",
    "còn hạn", "hết hạn", "hạn chứng nhận", "thời hạn", "còn hiệu lực", "hết hiệu lực", "hiệu lực",
    "giấy chứng nhận", "chứng nhận", "được chứng nhận", "quyết định công nhận", "công nhận chưa", "đã được công nhận",
    "số quyết định", "certificate", "certificates", "certified", "certification", "genuine", "authentic", "fake",
    "really ocop", "real ocop", "is it real", "legit", "expired", "expire", "expires", "expiry", "still valid", "valid",
    "validity", "recognised", "recognized", "recognition", "decision",
)
# Words around that question that name no product ("sản phẩm này có OCOP chính hãng không").
CERTIFICATE_FILLERS = (
    "ocop", "có", "không", "ko", "k", "không ạ", "là", "đã", "chưa", "được", "của", "sản phẩm", "sp", "hàng",
    "is", "the", "a", "an", "are", "was", "still", "really", "ocop certified", "product", "products",
    "còn", "vẫn", "thế", "vậy", "nhỉ", "hả", "hay", "or", "not", "yet", "does", "do", "have", "has", "a valid",
)
STAR_WORDS = ("sao", "star", "stars", "★", "⭐", "hạng sao", "ngôi sao", "số sao", "mấy sao", "xếp hạng", "phân hạng",
              "rating", "ratings", "rated")
MEANING_CUES_STRONG = (
    "nghĩa", "ý nghĩa", "khác nhau", "khác gì", "mean", "means", "meaning", "explain", "giải thích", "difference",
    "tiêu chí", "criteria", "đánh giá thế nào", "chấm thế nào", "xếp hạng thế nào", "how are", "how do",
)
MEANING_CUES = ("là gì", "là sao", "là như thế nào", "thế nào là", "what is", "what are", "what does", "what's")
LIST_WORDS = ("products", "product", "items", "sản phẩm", "sp", "which", "list", "nào", "những", "có gì", "show")
OCOP_WORDS = ("ocop", "mỗi xã một sản phẩm", "one commune one product", "chương trình ocop")
WHAT_IS_CUES = (
    "là gì", "là cái gì", "nghĩa là gì", "có nghĩa là gì", "là chương trình gì", "là sao", "what is", "what's",
    "whats", "what does", "meaning", "mean", "means", "about", "giới thiệu", "tìm hiểu", "explain", "giải thích",
    "tell me about", "stand for", "stands for", "viết tắt",
)

# Ordinals: whole-message follow-ups on the last list ("số 2", "cái thứ hai", "the second one", "#2").
_ORDINAL_WORDS = {
    "nhat": 1, "dau": 1, "dau tien": 1, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6,
    "bay": 7, "tam": 8, "chin": 9, "muoi": 10, "cuoi": LAST, "cuoi cung": LAST, "first": 1, "second": 2,
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "last": LAST, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8, "9th": 9,
    "10th": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_ORDINAL_LEAD = (
    r"(?:(?:show|open|pick|choose|select|see|view|give)\s+(?:me\s+)?)?(?:i\s+(?:want|choose|pick|like)\s+)?"
    r"(?:(?:xem|chon|lay|cho xem|mo)\s+)?(?:the\s+)?"
    r"(?:(?:cai|san pham|sp|mon|loai|muc|lua chon|ket qua|dong|item|product|result|option|number|no|choice)\s+)?"
    r"(?:(?:thu|so)\s+)?"
)
_ORDINAL_TAIL = r"(?:\s+(?:one|item|product|result|option|choice|please|pls|nhe|nha|a|di|do|kia|nay|oi))*"
_ORDINAL_RE = re.compile(
    rf"^{_ORDINAL_LEAD}(\d{{1,2}}|{'|'.join(sorted((re.escape(k) for k in _ORDINAL_WORDS), key=len, reverse=True))})"
    rf"{_ORDINAL_TAIL}$"
)
# A number word alone ("ba", "năm", "one") is not a pick: "nam" is also part of place names (Lục Nam) and "ba"
# a word of its own. Marked ("thứ ba", "số 3", "the third") or a digit ("2", "#2"), it is.
_CARDINALS = frozenset({"nhat", "dau", "mot", "hai", "ba", "bon", "tu", "nam", "sau", "bay", "tam", "chin", "muoi",
                        "cuoi", "cuoi cung", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                        "ten"})


def parse_ordinal(text: str) -> int | None:
    """1-based position (or LAST) when the whole message picks an item from the last list, else None."""
    raw = clean(text).lower().strip(" .!?,;:")
    if not raw or len(raw) > 60:
        return None
    hashed = re.fullmatch(r"#\s*(\d{1,2})", raw)
    if hashed:
        return int(hashed.group(1)) or None
    folded = " ".join(fold(raw).split())
    match = _ORDINAL_RE.match(folded)
    if not match:
        return None
    token = match.group(1)
    if match.group(0) == token and token in _CARDINALS:
        return None
    value = int(token) if token.isdigit() else _ORDINAL_WORDS[token]
    return value if value == LAST or 1 <= value <= 99 else None


# --- the classifier ---------------------------------------------------------------------------------

def _language_switch(ws: list[Word]) -> str | None:
    for language, names in LANGUAGE_NAMES.items():
        if only(ws, names, LANGUAGE_FILLERS):
            return language
    return None


def _is_where(ws: list[Word]) -> bool:
    # "mua" (buy) on its own counts: "mua mỳ chũ" asks where to buy it.
    return has_any(ws, _STRONG_WHERE)


def _is_how_many(ws: list[Word]) -> bool:
    if has_any(ws, ("phone number", "phone", "telephone", "số điện thoại", "hotline")):
        return False  # "phone number of Hong Xuan cooperative" asks for a contact, not a count
    if has_any(ws, ("how many", "number of", "có bao nhiêu", "bao nhiêu sản phẩm", "bao nhiêu sp", "mấy sản phẩm",
                    "mấy sp", "số lượng", "tổng số", "có mấy", "bao nhiêu loại", "mấy loại", "how much products")):
        return not has_any(ws, _PRICE_WORDS) or has_any(ws, ("sản phẩm", "products", "ocop"))
    if has_any(ws, ("bao nhiêu",)):
        return has_any(ws, ("ocop", "sản phẩm", "sp", "sao")) and not has_any(ws, _PRICE_WORDS)
    return False


def _is_stars_meaning(ws: list[Word]) -> bool:
    if not has_any(ws, STAR_WORDS):
        return False
    folded = " ".join(w.folded for w in ws)
    if "sao" in folded.split() and not re.search(
        r"(?:\d|mot|hai|ba|bon|nam|may|hang|ngoi|so)\s+sao|\bsao\s+(?:ocop|nghia|la\s+gi|co\s+y)|ocop\s+sao", folded
    ):
        return False  # "sao" alone is also "why" ("tại sao")
    if has_any(ws, MEANING_CUES_STRONG):
        return True
    # "sao OCOP là gì" asks what stars mean; "sản phẩm 4 sao là gì" / "what are the 5 star products" ask for a list.
    return has_any(ws, MEANING_CUES) and not has_any(ws, LIST_WORDS)


def _is_what_is_ocop(ws: list[Word]) -> bool:
    return has_any(ws, OCOP_WORDS) and has_any(ws, WHAT_IS_CUES) and len(ws) <= 12


PLACE_PREPOSITIONS = ("tại", "ở", "in", "at", "near", "around", "gần", "quanh", "khu vực", "trong", "ở khu vực",
                      "tại khu vực", "ở gần", "in the", "đến", "to", "từ")


def take_place(ws: list[Word]) -> tuple[list[Word], str | None]:
    """Split off "… ở Lục Ngạn" / "… in Viet Yen" (a former district after a preposition): the user's place."""
    for prep in sorted(PLACE_PREPOSITIONS, key=lambda p: -len(p.split())):
        start = find_phrase(ws, prep)
        while start >= 0:
            after = start + len(_pattern(prep))
            for n in (4, 3, 2, 1):
                if after + n > len(ws):
                    continue
                centre = district_centre(" ".join(w.raw for w in ws[after : after + n]))
                if centre:
                    return ws[:start] + ws[after + n :], centre.district
            start = find_phrase(ws, prep, start + 1)
    return ws, None


@lru_cache(maxsize=2048)
def parse(text: str) -> Intent:
    """What a free-text message asks for. Pure, so cached across messages (the same few questions come often);
    within a message the router reads it once (`Context.intent`)."""
    ws = words(text)
    if not ws:
        return Intent(PRODUCT, "")
    language = _language_switch(ws)
    if language:
        return Intent(LANGUAGE, language=language)
    ordinal = parse_ordinal(text)
    if ordinal is not None:
        return Intent(ORDINAL, ordinal=ordinal)
    if only(ws, GREETINGS, POLITE) or (ws[0].folded in ("chao", "hello", "hi", "hey") and len(ws) <= 3
                                        and only(ws[1:], ("bot", "shop", "ad", "bạn", "em", "anh", "chị", "there", "ơi"),
                                                 POLITE)):
        return Intent(GREETING)
    if only(ws, THANKS_PHRASES, POLITE + ("rất", "nhiều", "very", "much", "a lot", "so", "lot")):
        return Intent(THANKS)
    if only(ws, HELP_PHRASES, POLITE + ("me", "can", "i", "get", "need", "cần", "muốn", "xem", "show", "open", "mở")):
        return Intent(HELP)
    if only(ws, BROWSE_PHRASES, POLITE + ("ocop", "xem", "show", "me", "i", "want", "to", "muốn", "the", "tôi")):
        return Intent(BROWSE)
    if _is_stars_meaning(ws):
        return Intent(STARS)
    if _is_what_is_ocop(ws) and not has_any(ws, WHERE_CUES) and not _is_how_many(ws):
        return Intent(WHAT_IS_OCOP)
    if _is_how_many(ws):
        return Intent(HOW_MANY, rejoin(remove_phrases(remove_phrases(ws, HOW_MANY_CUES), HOW_MANY_FILLERS), text))
    near = has_any(ws, NEAR_CUES)
    # "mua mỳ Chũ chính hãng ở đâu" asks where to buy the genuine article: a where question, not this one.
    if has_any(ws, CERTIFICATE_CUES) and not near and not _is_where(ws) and not has_any(ws, _STRONG_CONTACT):
        return Intent(
            CERTIFICATE, rejoin(remove_phrases(remove_phrases(ws, CERTIFICATE_CUES), CERTIFICATE_FILLERS), text)
        )
    if has_any(ws, _STRONG_CONTACT) and not near:
        return Intent(CONTACT, rejoin(remove_phrases(ws, CONTACT_CUES), text))
    if near or _is_where(ws):
        rest, place = take_place(remove_phrases(ws, WHERE_CUES + NEAR_CUES))
        whole, whose = take_place(ws) if place else (ws, None)
        return Intent(WHERE, rejoin(rest, text), near=near, place=place, search=rejoin(
            whole if whose == place else rest, text))
    return Intent(PRODUCT, text)
