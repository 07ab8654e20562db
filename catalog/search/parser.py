"""Query reading: tokens resolved (Telex, run-together words), then stars, places, known phrases, scaffolding and product words."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from catalog.lexicon import Concept, Exclusion, Key, Phrase, phrase_accents, phrase_key
from catalog.search.compounds import (
    chat_pairs,
    dictionary_words,
    is_spoken,
    other_compounds,
    second_syllables,
    spoken_words,
)
from catalog.search.gazetteer import districts_outside, wards_of
from catalog.search.marks import LETTER_MARKS, TONE_CLASS, accent_fits, marks_are, marks_fit, same_marks
from catalog.search.model import (
    FINAL_SWAP,
    FINAL_SWAP_KNOWN,
    LETTERS_DIGITS,
    LEXICON_ALT,
    LONG_MESSAGE,
    MAX_QUERY_TOKENS,
    NEAR_PHRASE,
    STAR_SYMBOL,
    TELLING,
    Alt,
    ParsedQuery,
    PlaceName,
    QueryWords,
    Unit,
    phrase_weight,
)
from catalog.search.postings import Postings
from catalog.search.register import (
    STRAY_FOREIGN,
    STRAY_STOPWORD,
    STRAY_VIETNAMESE,
    could_be_vietnamese,
    is_english_stopword,
    is_stopword,
    length_factor,
    only_english_stopword,
    stray_base,
)
from catalog.telex import decode_keystrokes, well_formed
from catalog.text import (
    MAX_QUERY_CHARS,
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

# Keys next to each other on a QWERTY keyboard: a slip of the finger replaces a letter by one of these.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR_KEYS = {
    ch: {
        other
        for r2 in (r - 1, r, r + 1)
        if 0 <= r2 < len(_ROWS)
        for c2 in (c - 1, c, c + 1)
        if 0 <= c2 < len(_ROWS[r2]) and (other := _ROWS[r2][c2]) != ch
    }
    for r, row in enumerate(_ROWS)
    for c, ch in enumerate(row)
}


def _slip(typed: str, word: str) -> bool:
    """Could `typed` be `word` (of the same length, one letter different) with one key hit beside the right one?"""
    pairs = [(a, b) for a, b in zip(typed, word, strict=True) if a != b]
    return len(pairs) == 1 and pairs[0][0] in _NEAR_KEYS.get(pairs[0][1], ())


# Eating and drinking: what follows is what the buyer consumes, told as a habit beside a need.
_CONSUMING = frozenset({"uong", "an", "nhau"})

# Negations written in English: what follows them is read in English ("not the …": an article, not thế).
_ENGLISH_NEGATIONS = frozenset({"not", "no", "without", "except"})


def _tone_written(typed: str, written: list[str]) -> bool:
    """Is a word typed with these marks one of these spellings, as far as its tone goes (none typed: any; no
    spelling marked: any)?"""
    if typed[-1] == "0" or not written:
        return True
    tone = TONE_CLASS.get(typed[-1], typed[-1])
    return any(TONE_CLASS.get(w[-1], w[-1]) == tone for w in written)


# Verbs of cooking a dish, with their marks where typed ("làm bún chả", "nấu chè ngô"), and words asking what goes
# into one ("nguyên liệu", "ingredients"): a dish named so stands for its ingredients.
_COOKING: dict[str, str | None] = {
    "nau": "nâu1", "lam": "lam2", "thoi": "thôi3", "goi": "goi1", "cook": None, "cooking": None, "make": None,
    "making": None, "prepare": None, "rolling": None,
}
# ("làm" and "gói" cook only right before the dish, "làm món nem rán": "làm quà" is as a gift, "3 gói" packets.)
_COOKING_BEFORE = frozenset({"lam", "goi"})
_INGREDIENTS = frozenset({"nguyen lieu", "ingredient", "ingredients", "can gi", "need buy"})
# Words before "Nhật" in names (Diệp Nhật) and Japan (người Nhật, hàng Nhật): no superlative "nhất" there.
_NHAT_NAMES = frozenset({"diep", "nguoi", "hang", "tieng", "ben", "nuoc", "kieu", "sep", "khach", "cua", "tu", "o"})
# Words that make "máy" no machine bought: before it (nhà máy, xe máy, điện máy, máy bay, máy mình, máy tính
# tiền is one though); and words after it saying the machine only typed the message ("máy ghi âm nó gõ thành …").
_NOT_A_MACHINE_BEFORE = frozenset({"nha", "xe", "dien", "cua"})
_NOT_A_MACHINE_AFTER = frozenset({"bay", "minh", "no", "toi", "em", "anh", "chi", "tu", "nha", "cua"})
_MACHINE_TYPED = frozenset({"go", "sua", "doc", "nghe"})
# Kinds of `asks` that rule out every product (see SearchIndex.search).
_VETOES = frozenset({"service", "department", "supplies", "course", "offtopic"})

# Verbs that say where goods go only when nothing but chat follows the place ("ship hn", not "ship Dalat X").
_BARE_CUES = frozenset(
    {("ship",), ("giao",), ("gui",), ("chuyen",), ("send",), ("deliver",), ("cod",), ("di",)}
)
# Verbs of sending: with a direction after them ("gửi về", "ship lên") a place a few words on is where goods go.
_SENDING = frozenset({"ship", "giao", "gui", "chuyen", "send", "deliver", "shipping", "mail", "post"})
# English words between a preposition and the place it introduces ("in a Hanoi supermarket", "to my Hanoi office").
_DETERMINERS = frozenset({"a", "an", "the", "my", "our", "his", "her", "their", "your"})
# Verbs and prepositions of going, and "người" of a nationality: a name written right after one is where somebody
# goes or comes from ("sang Đức", "người Đức"), each as written and whether typed plain it is still that word
# ("den" could be đen, black; "nguoi" nguội, cold; "qua" stays qua, not quà).
_GOING: dict[str, tuple[str, bool]] = {
    "sang": ("sang", True), "qua": ("qua", True), "bay": ("bay", True), "to": ("to", True),
    "ve": ("về", False), "di": ("đi", False), "den": ("đến", False), "toi": ("tới", False), "ra": ("ra", False),
    "vao": ("vào", False), "len": ("lên", False), "nguoi": ("người", True),
    "m": ("m", True), "am": ("am", True),  # "I'm Vietnamese-American": who the buyer is
}
# People a nationality or hometown is said of, like "người" above ("e ng Hàn", "vợ Đài Loan", "khách Nhật", "sếp
# Hàn Quốc"): the name after them is who somebody is, not where the goods come from ("vỏ" typed plain is a shell).
_PERSONS: dict[str, tuple[str, bool]] = {
    "ng": ("ng", True), "vo": ("vợ", False), "chong": ("chồng", True), "khach": ("khách", True),
    "sep": ("sếp", True), "nghiep": ("nghiệp", True), "dau": ("dâu", False), "re": ("rể", False),
    "tieng": ("tiếng", True),  # a language: "lớp học tiếng Việt" is no Việt Yên
}
# Words for the places people live and work, each as written and whether typed plain it is still that word: a name
# right after one is the buyer's own street, hamlet, ward, market or works ("thôn Thủ Dương", "phường Dĩnh Kế", "KCN
# Đình Trám"), not where the goods come from ("chợ" typed plain is "cho", give). Not the words that end compounds
# too ("cung đình Huế", "thị trường Nhật", "yêu cầu").
_LOCALES: dict[str, tuple[str, bool]] = {
    "thon": ("thôn", True), "xom": ("xóm", True), "khu": ("khu", True), "kcn": ("kcn", True), "ccn": ("ccn", True),
    "phuong": ("phường", False), "ngo": ("ngõ", False), "duong": ("đường", False), "hem": ("hẻm", False),
    "cho": ("chợ", False), "vien": ("viện", False),
}
# "ở"/"tại" after one of these says where somebody is ("nhà em ở Dĩnh Trì", "bà ở Kép"); English verbs of living and
# working before "in"/"at" the same ("we live in Tho Xuong").
_RESIDENTS = frozenset(
    {"nha", "em", "anh", "chi", "ba", "ong", "minh", "toi", "tui", "chau", "con", "co", "chu", "bac", "thay", "me",
     "bo", "ban", "khach", "xuong", "quan", "ty", "cty", "live", "lives", "living", "based", "stay", "staying", "work",
     "working", "office", "company", "factory"}
)
_AT = {"o": accent_key("ở"), "tai": accent_key("tại"), "in": None, "at": None}
# Phrases of the party need that name an occasion rather than drinking and its food (folded).
_OCCASIONS = frozenset(
    {"sinh nhat", "tiec", "bua tiec", "lien hoan", "hop lop", "tat nien", "party", "birthday", "get together",
     "gathering", "feast"}
)
# Words that make the thing beside them the buyer's own: "our hotel", "khách sạn bên em", "quán của mình".
_OWNERS_BEFORE = frozenset({"our", "my", "we"})
# Units goods are counted in, after a number ("1 tạ ổi", "3 bó rau", "2kg"); not "30 phần quà", whose goods follow.
COUNT_UNITS = frozenset(
    {"kg", "kilo", "ta", "yen", "can", "hop", "thung", "chai", "goi", "tui", "qua", "con", "cai", "bo", "trai", "lit",
     "dia", "to", "bat", "coc", "ly", "bao", "chuc", "cap", "lang", "g", "gam", "gram"}
)
# Packs counted after a number that are also catalogue words typed plain, with their own marks: "24 lon" (cans).
_PACKS = {key: accent_key(word) for key, word in (("lon", "lon"), ("loc", "lốc"), ("bo", "bó"), ("vi", "vỉ"), ("hu", "hũ"), ("lo", "lọ"))}
# Words after which goods are named: buying, having, liking, eating, counting ("mua mít sấy", "2 hộp …").
_BEFORE_GOODS = COUNT_UNITS | {
    "co", "can", "mua", "ban", "tim", "lay", "dat", "con", "it", "may", "vai", "an", "uong", "thich", "order", "nhap",
    "chiec", "doi", "hu", "cu",
}


def _goods_asked(q: QueryWords, start: int, end: int) -> Unit:
    """Goods nobody sells here, named by the words start..end (a thing for a product): to be found as named."""
    span = tuple(q.keys[start:end])
    alt = Alt(span, 1.0, tuple(q.marked[start:end]), exact=True)
    return Unit(" ".join(span), phrase_weight(len(span)), [alt], "elsewhere", at=start, lacked=True)


def _counted(keys: list[str], i: int) -> bool:
    """Does an amount with its unit come right before word i ("2 kg", "1 tạ"; a bare number counts people too: "120
    cháu")?"""
    return i >= 2 and keys[i - 2].isdigit() and keys[i - 1] in COUNT_UNITS


# Words that make the occasion after them a date to deliver by ("trước Tết", "kịp Tết", "before Tet"), with marks.
_DEADLINES: dict[str, str | None] = {"truoc": "trươc1", "kip": "kip5", "before": None}
_OWNERS_AFTER = frozenset(
    {("ben", "em"), ("ben", "minh"), ("ben", "toi"), ("cua", "minh"), ("cua", "em"), ("cua", "toi"), ("chung",),
     ("nha",), ("minh",), ("em",), ("toi",), ("tui",), ("bon", "em"), ("bon", "minh")}
)
# Telex's tone keys, left at the end of a word by a keyboard that had already marked it ("vàngf").
_TELEX_TONES = frozenset("sfrxj")
# "Không" as chat writes it, typed plain ("ko lấy đồ ăn", "hok cần rượu").
_NOT_SHORT = frozenset({"ko", "k", "hok", "hk", "kg", "khg", "hong", "kh"})
_NOT_BEFORE_GROUP = frozenset({"khong", "ko", "hok", "hk", "khg"})  # (not "kg": "5 kg thực phẩm")
# Words that deny what follows them ("không phun thuốc trừ sâu", "no pesticide", "without preservatives").
_DENIALS = frozenset({"khong", "no", "without", "chua", "zero"})
# Words between a negation and the product word it denies: verbs of having, giving, wanting and using, and the words
# around them ("không ai uống", "không được dùng", "không còn thích"), each as written (see denied_verbs).
_DENIED_BY = {
    fold(w): accent_key(w)
    for w in (
        "uống", "ăn", "dùng", "xài", "tặng", "biếu", "mang", "lấy", "cần", "thích", "ưa", "mua", "đặt", "muốn",
        "nhận", "làm", "ai", "được", "còn", "nên", "thể", "hay", "bao", "giờ", "chịu", "cho",
    )
}
# Punctuation that ends a clause: a negation does not reach past it ("không phải, na Lục Nam ấy").
_CLAUSE_BREAK = re.compile(r"[,.;!?…]+(?:\s|$)|[;!?…]+")
# Words after which the goods asked for are named (see read_unlisted_goods): "có" in a yes-no question, typed with
# its marks or plain in a message without marks, and classifiers of things, typed with their marks.
_HAVE = accent_key("có")
_CLASSIFIERS = {fold(w): accent_key(w) for w in ("cái", "chiếc", "đôi", "bộ", "bức", "tấm")}
_FEW = accent_key("vài")
# What "vài" (a few) counts: things, people, days, packs ("vài món", "vai thung"). Not "ta", "to", "quả", "trái": "vải
# ta", "vải to", "vải quả …" are lychees.
_COUNTED = frozenset(
    {"mon", "nguoi", "ngay", "lan", "chuc", "tram", "nghin", "trieu", "kg", "kilo", "can", "hop", "thung", "chai", "goi",
     "tui", "cai", "bo", "lit", "coc", "ly", "bao", "cap", "lang", "chiec", "loai", "thu", "sp", "hu", "lo", "suat", "phan"}
)
_STILL = accent_key("còn")  # "còn X không", "thế còn X thì sao": a follow-up asking for one more thing
_GOODS_CUES = frozenset({"co", "con", *_CLASSIFIERS})
# Ends of a yes-no question ("có … không", "có … hông", "co … ko"), and denials before "có" ("không có tủ lạnh").
_YES_NO = frozenset({"khong", "ko", "k", "hong", "hok", "hk", "khg", "kh", "hem"})
_NOT_HAVING = frozenset({"khong", "ko", "k", "chua"})
# Verbs of wanting or buying: what follows them is what somebody wants, not what the word before is made of.
_WANTING = frozenset({"can", "mua", "muon", "tim", "lay", "dat", "nhap", "order", "need", "want", "buy"})
# "Is": what follows it is who somebody is ("em là hướng dẫn viên", "we are a caterer").
_IS = frozenset({"la", "am", "are"})
# Words a few before "máy"/"machine" that make it the bot the buyer is talking to.
_THE_BOT = frozenset({"human", "person", "that", "real", "talking", "talk", "chatting", "chuyen"})
_MEATLESS = accent_key("chay")  # "chay" (vegetarian), as written: no "cháy" (burnt), "chạy" (run)
# Words that join two things asked for ("mỳ chũ và vải thiều", "bánh chưng với giò", "honey or tea").
_JOINS = frozenset({"va", "voi", "hoac", "and", "or", "vs", "versus"})
# "thì", "cũng" between goods and a negation after them ("trà cũng không uống"), and the words that end such a
# clause saying the goods are not wanted ("rượu thì thôi", "ăn uống thì khỏi"), as written.
_THEN = {"thi": accent_key("thì"), "cung": accent_key("cũng")}
_DONE_WITH = {"khoi": accent_key("khỏi"), "thoi": accent_key("thôi")}
# Words between a negation and the star rating it denies ("không phải loại 3 sao", "không lấy hàng 3 sao").
_BEFORE_STARS = frozenset({"loai", "hang", "do", "sp", "cac", "nhung", "mon"})
# … and in a list of things ruled out, "hay" too: "không cần đồ ăn hay đồ uống".
_LISTING = _JOINS | {"hay", "nor"}
# What may stand between a thing and the verb that says what it is for: "túi zip để đóng gói chè", "men lá về tự
# nấu rượu", "bottles for bottling rice wine" (see read_processes).
_PROCESS_LINKS = frozenset({"de", "dung", "chuyen", "tu", "ve"})
_PROCESS_LINKS_EN = frozenset({"for", "to"})
# Words that name no goods of their own ("mua ít đồ làm quà", "cần đồ để nấu súp gà"): things, whatever they are.
ANY_GOODS = frozenset({
    "do", "mon", "thu", "hang", "qua", "stuff", "thing", "things", "something", "nguon", "mau", "combo", "set",
})
_COSTS = frozenset({"phi", "cuoc", "tien", "gia", "fee", "cost"})
_SIZES = frozenset({"lit", "ml", "kg", "kilo", "g", "gam", "gram", "cm", "cai", "chiec", "loai", "to", "nho", "mini", "lon"})
# Words after a number that make it an amount of money ("200k", "1 triệu"): the buyer asks about price.
_MONEY_UNITS = frozenset({"k", "tr", "trieu", "nghin", "ngan", "d", "dong", "vnd", "usd"})
# A unit of time after a slash ("300 chiếc/tuần", "2 jars/month"): how often, as "mỗi tuần" and "per month" say it.
_PER_TIME = re.compile(r"/\s*(tháng|thang|tuần|tuan|ngày|ngay|năm|nam|(month|week|day|year))\b", re.IGNORECASE)


def _each(m: re.Match[str]) -> str:
    # (Marked as the unit is: "mỗi" in a message typed without marks would make it one typed with them.)
    return f" per {m[1]}" if m[2] else f" mỗi {m[1]}" if has_marks(m[1]) else f" moi {m[1]}"


# Words after a number that make it a span of time or an age ("20 năm", "10 tháng", "3 tuổi", "2 years"), each
# with how it is written: typed with other marks it is another word ("2 nấm" are mushrooms), and "giờ" typed
# plain is more likely the product "giò".
_TIME_UNITS: dict[str, str | None] = {
    "nam": "năm", "thang": "tháng", "ngay": "ngày", "tuan": "tuần", "tuoi": "tuổi", "phut": "phút",
    "tieng": "tiếng", "gio": "giờ", "year": None, "month": None, "week": None, "day": None, "hour": None,
}


# Upper-case letters of Vietnamese and English (NFC): the first letter of a word written as a name.
_UPPER = "A-Z" + "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_CAPITALISED = re.compile(rf"\b[{_UPPER}]\w*")
_SENTENCE_ENDS = ".!?:;\n"


def _fewest_pieces(word: str, fits: Callable[[list[str], str], bool]) -> list[str] | None:
    """`word` cut into the fewest pieces of 2 to 7 letters, each of which `fits` after the pieces before it; two
    pieces at least, else None."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        path = best[i]
        if path is None:
            continue
        for j in range(i + 2, min(n, i + 7) + 1):
            piece = word[i:j]
            if not fits(path, piece):
                continue
            cur = best[j]
            if cur is None or len(path) + 1 < len(cur):
                best[j] = [*path, piece]
    result = best[n]
    return result if result and len(result) >= 2 else None


def _runs(keys: list[str | None]) -> list[Key]:
    """Runs of two or more consecutive keys (None breaks a run)."""
    runs: list[Key] = []
    current: list[str] = []
    for key in [*keys, None]:
        if key is not None:
            current.append(key)
            continue
        if len(current) >= 2:
            runs.append(tuple(current))
        current = []
    return runs


class _Names:
    """The words a message writes as names, read the first time they are asked for (most messages never are)."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.value: frozenset[str] | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    def get(self) -> frozenset[str]:
        """The names' words as written, in small letters ("nội" of "Hà Nội": not "nói", say)."""
        if self.value is None:
            self.value = _names_within(self.text)
        return self.value

    def has(self, tok: Token) -> bool:
        return tok.raw in self.get()


def _names_within(text: str) -> frozenset[str]:
    """Words written as names (capital first, then small letters) that do not start a sentence, and are no
    English function word ("I", "The"), in small letters."""
    if text.lower() == text:
        return frozenset()
    names = set()
    for m in _CAPITALISED.finditer(text):
        key = _name_key(m.group(0))
        if key is not None and not _starts_sentence(text, m.start()):
            names.add(key)
    return frozenset(names)


@lru_cache(maxsize=16384)
def _name_key(word: str) -> str | None:
    """The word in small letters if it is written as a name and is no English function word, else None."""
    if (len(word) == 1 or word[1:].islower()) and not is_english_stopword(word):
        return word.lower()
    return None


def _starts_sentence(text: str, at: int) -> bool:
    """Is the word at `at` the first of the text or of a sentence (only non-word signs since . ! ? : ;)?"""
    j = at - 1
    while j >= 0 and not (text[j].isalnum() or text[j] in _SENTENCE_ENDS):
        j -= 1
    return j < 0 or not text[j].isalnum()


_SO = frozenset({"the", "vay", "zay"})  # "thế còn …", "vậy còn …": a follow-up


def _what_of(keys: list[str]) -> bool:
    """Does a follow-up end "thì sao" / "thế nào" (what about it)?"""
    return any(keys[k : k + 2] in (["thi", "sao"], ["the", "nao"]) for k in range(len(keys) - 1))


def asks_ingredients(keys: list[str]) -> bool:
    """Does the message ask what goes into something ("nguyên liệu", "cần gì", "ingredients")?"""
    return any(k in _INGREDIENTS or " ".join(keys[i : i + 2]) in _INGREDIENTS for i, k in enumerate(keys))


def _level(written: tuple[str | None, ...]) -> tuple[str | None, ...]:
    """A name's marks where a syllable written plain beside marked ones has the level tone ("Giang" of "Lạng
    Giang"): a regional spelling still keeps its tones ("lang dặn" is no Lạng Giang)."""
    if all(w is None for w in written):
        return written  # written plain throughout: its tones are unknown
    return tuple("0" if w is None else w for w in written)


@lru_cache(maxsize=65_536)
def _toned(alt: Alt) -> Alt:
    """The alternative as a chat message reads it: a tone typed is the word's (`Alt.tones`). (Kept: the same words'
    alternatives come again and again, and a dataclass copy costs more than the lookup.)"""
    return Alt(alt.key, alt.q, alt.accents, alt.sound, alt.free, alt.exact, tones=True)


def chosen(out: ParsedQuery) -> None:
    """Two places or two star ratings weighed, then one of them named again: that one is the pick ("Lục Ngạn hay Lục
    Nam … thôi chốt Lục Nam", "3 sao hay 4 sao thì lấy 4 sao", "between the 3-star and 4-star food, show me the
    4-star ones"). (Not the province: "Bắc Ninh (Bắc Giang cũ)" names the whole catalogue twice.)"""
    places = [p for p in out.place_mentions if p.kind != "province"]
    if len(set(places)) >= 2 and places[-1] in places[:-1]:
        out.places = [places[-1]]
    stars = out.star_mentions
    if len(set(stars)) >= 2 and stars[-1] in stars[:-1]:
        out.stars = stars[-1]


class QueryParser:
    """Turns a buyer message into the units it asks for and the filters it names, against one Postings."""

    def __init__(self, ix: Postings) -> None:
        self.ix = ix
        self.lexicon = ix.lexicon
        self.token_cache: dict[tuple[str, str], list[Alt]] = {}
        self.ask_heads = {key[0] for key in self.lexicon.asks}
        self.ask_words = max((len(key) for key in self.lexicon.asks), default=1)  # the longest phrase, in words
        self.dish_heads = {key[0] for key in self.lexicon.dishes}
        self.modifier_heads = {key[0] for key in self.lexicon.modifiers}
        self.negation_heads = {key[0] for key in self.lexicon.negations} | _NOT_SHORT
        self.giving_heads = {key[0] for key in self.lexicon.giving_verbs}
        # Other goods the catalogue has none of (a phrase whose words a product has is not one).
        self.other_goods = {
            key: forms
            for key, forms in self.lexicon.other_goods.items()
            if not (ix.phrase_docs(key) if len(key) > 1 else ix.post.get(key[0]))
        }
        # So are the foods and drinks the lexicon knows and no product is ("cà phê", "sầu riêng", "almond"): named
        # with a product word, that word describes them ("hạnh nhân rang mật ong", "lychee coffee").
        for concept in self.lexicon.concepts:
            if concept.members:
                continue  # a class stands for products the catalogue may have ("trái cây")
            if ix.sold(concept):
                continue
            for p in (*concept.vi, *concept.en):
                if p.vietnamese and len(p.key) == 1:
                    continue  # one Vietnamese syllable is too often another word ("cua": của; "nho": nhỏ)
                self.other_goods.setdefault(p.key, []).append((p.accents, p.vietnamese))
        # Other places: the lexicon's, and the old districts of other provinces the catalogue's products do not name
        # ("Bình Liêu", "Cao Phong"; see gazetteer.py).
        lex = self.lexicon
        self.elsewhere = dict(lex.elsewhere)
        self.districts: set[Key] = set()  # of those, the ones not listed by hand: see district_named
        provinces = {fold(doc.province) for doc in ix.docs if doc.province}
        for name in districts_outside(provinces):
            key = phrase_key(name)
            if (
                key in self.elsewhere  # (listed by hand: as the lexicon writes it)
                or key in ix.places
                or key in lex.concept_index
                or key in lex.scaffolding
                or self.names_product(key)
            ):
                continue
            self.elsewhere.setdefault(key, []).append(phrase_accents(name))
            self.districts.add(key)
        # The communes, wards and towns of the catalogue's provinces, of two words or more: where its buyers live
        # ("công ty em ở Quang Châu"), whatever product words they share (see own_place).
        self.home_wards = frozenset(k for k in map(phrase_key, wards_of(provinces)) if len(k) >= 2)
        # And the words of the language that begin with a product's kind word and name another thing ("măng cụt",
        # "nấm hương", "bánh cuốn"): see catalog/search/compounds.py.
        # A word inside a product's name begins other things too ("nếp nhăn", a wrinkle: no Gạo nếp), but typed
        # plain its syllables are too often other words ("thit lon con hang": thịt lợn còn hàng, no lợn con), so
        # those compounds count only in a message written with marks (`inner_compounds`, `heads_its_phrase`).
        # The first words of the products' names ("rượu", "hương", "mật"): words that name a kind of product.
        self.kind_heads = frozenset(kind[0] for kind in ix.kind_of if kind)
        first_heads, heads, kind_spellings = self.written_heads()
        # … and the marks they are written with there ("dầu": a buyer's "em dâu" is a sister-in-law, no oil).
        self.kind_spellings = {k: frozenset(spelt) for k, spelt in kind_spellings.items()}
        words = dictionary_words(lambda key: key[0] in heads or (len(key) == 2 and (key[0] in ix.post or key[1] in ix.post)))
        compounds, self.closing_words = other_compounds(heads, self.names_product, self.is_chat, words)
        known = (lex.concept_index, lex.scaffolding, lex.uses, lex.asks, lex.categories, self.elsewhere, lex.compounds)
        compounds = {
            key: written
            for key, written in compounds.items()
            if not any(key in table for table in known) and key not in ix.places
        }
        for key, written in compounds.items():
            self.other_goods.setdefault(key, []).extend((accents, True) for accents in written)
        self.compound_goods = compounds
        self.inner_compounds = frozenset(key for key in compounds if key[0] not in first_heads)
        self.second_syllables = second_syllables(words, ix.post.__contains__)  # ("bảo" → "quản", …)
        # And the two-syllable words of the language that hold a catalogue syllable (see within_word), where neither
        # syllable is a product word as written there, so the catalogue's is a producer's or a place's ("công
        # trường" is no Trường Thọ, "hóa đơn" no Phúc Hòa nor flower): a product word inside a word of the language
        # is as often goods ("cá khô", "nón lá") as chat. Nor one the lexicon knows, a place, or a product's words.
        product_words = self.lexicon_product_words() | {(k, a) for k, spelt in first_heads.items() for a in spelt}
        self.chat_pairs = chat_pairs(
            words,
            ix.post.__contains__,
            lambda key, accents: any((k, a) in product_words for k, a in zip(key, accents, strict=True))
            or any(key in table for table in known)
            or key in ix.places
            or self.names_product(key),
        )
        del words
        # And every word of the language of two or three syllables, for goods the catalogue lacks (read_unlisted_goods).
        self.spoken = spoken_words()
        # Single words the lexicon knows as chat, however marked: typed plain, they may be that instead.
        self.chat_words = {
            key[0]
            for table in (lex.scaffolding, lex.uses, lex.asks, lex.giving_verbs)
            for key in table
            if len(key) == 1
        }
        self.goods_heads = {key[0] for key in self.other_goods}
        self.process_heads = {key[0] for key in self.lexicon.processes}
        # Other countries' adjectives the catalogue does not write ("Korean"; "Thai" is Thái Sơn's too).
        self.origins = {key[0] for key in self.lexicon.origins if len(key) == 1 and key[0] not in ix.post}
        self.resolve_cache: dict[Token, list[Token]] = {}
        # First words of the phrases of two words or more that parse_at looks up, also by regional spelling.
        lex = self.lexicon
        phrases = (
            *lex.concept_index,
            *lex.scaffolding,
            *self.elsewhere,
            *lex.without,
            *lex.categories,
            *lex.uses,
        )
        self.heads = {k[0] for k in (*phrases, *ix.places) if len(k) >= 2}
        # The lengths of those phrases (and single words) by first word: parse_at looks a span up only where one of
        # them could match it as typed.
        lengths: dict[str, set[int]] = {}
        for k in phrases:
            lengths.setdefault(k[0], set()).add(len(k))
        self.phrase_lengths = {k: frozenset(v) for k, v in lengths.items()}
        self.sound_heads = {sound_key(k, finals=True) for k in self.heads}
        self.concept_heads = {k[0] for k in lex.concept_index if len(k) >= 2}
        self.place_heads = {k[0] for k in (*ix.places, *ix.prefixed_places, *lex.place_prefixes)}
        self.place_sound_heads = {k[0] for k in ix.sound_places}
        # Known multi-word phrases the catalogue has, by regional-spelling key and with one word blanked out,
        # to recognise them misspelt. (A misspelling of a phrase the catalogue lacks finds nothing either way.)
        sold = [k for k in self.lexicon.concept_index if len(k) >= 2 and ix.phrase_docs(k)]
        self.sound_phrases: dict[Key, Key] = {}
        for phrase in sold:
            self.sound_phrases.setdefault(tuple(sound_key(k, finals=True) for k in phrase), phrase)
        self.phrase_holes: dict[Key, list[Key]] = {}
        for phrase in sold + [k for k in ix.places if len(k) >= 2]:
            for j in range(len(phrase)):
                hole = (*phrase[:j], "", *phrase[j + 1 :])
                self.phrase_holes.setdefault(hole, []).append(phrase)

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "token_cache": {}, "resolve_cache": {}}

    def match_place(self, q: QueryWords, i: int) -> tuple[PlaceName, int] | None:
        """The place named at position i (with or without a prefix word) and how many tokens it takes.

        Marks the buyer typed must fit the place's ("bán đông" is not "bản Đông"); a regional spelling
        ("nục nam" for "Lục Nam") only needs its tones to fit.
        """
        keys, marked, sounds = q.keys, q.marked, q.sounds
        if keys[i] not in self.place_heads and sounds[i] not in self.place_sound_heads:
            return None  # no place name, spelling of one, or place prefix starts with this word
        prefixes = self.ix.lexicon.place_prefixes
        # Unprefixed first, so a spelling that includes its prefix ("TP Bắc Giang") beats the bare name after it
        # ("Bắc Giang", the province); then the names that are only places when a prefix says so ("TT Chũ").
        starts = [(i, False)]
        for n in (2, 1):
            variants = prefixes.get(tuple(keys[i : i + n]))
            if variants and i + n < len(keys) and any(marks_fit(marked, i, a) for a in variants):
                starts.append((i + n, True))
                break
        for start, prefixed in starts:
            for n in range(min(self.ix.longest_place, len(keys) - start), 0, -1):
                found: tuple[PlaceName, tuple[str | None, ...]] | None = None
                tones_only = False
                if n >= 2:
                    found = self.ix.places.get(tuple(keys[start : start + n]))
                    if found is None:
                        found = self.ix.sound_places.get(tuple(sounds[start : start + n]))
                        tones_only = True
                elif prefixed:
                    found = self.ix.prefixed_places.get((keys[start],))
                if found is not None and marks_fit(marked, start, _level(found[1]) if tones_only else found[1], tones_only):
                    return found[0], start + n - i
        return None

    def resolve(self, tok: Token) -> list[Token]:
        """Telex/VNI leftovers decoded, words run together split, letters glued to digits separated."""
        cached = self.resolve_cache.get(tok)
        if cached is not None:
            return cached
        out = self.resolve_uncached(tok)
        if len(self.resolve_cache) > 50_000:
            self.resolve_cache.clear()
        self.resolve_cache[tok] = out
        return out

    def resolve_uncached(self, tok: Token) -> list[Token]:
        f = tok.folded
        if english_stem(f) in self.ix.known or f.isdigit():
            return [tok]
        if tok.raw.isascii():
            decoded = decode_keystrokes(f)
            # Accepted only as a word the catalogue or lexicon writes with that tone: "taxi" spells "tãi",
            # but no product has a "tãi", so it stays an (unknown) English word.
            if decoded:
                plain = tone_only(decoded)
                typed = accent_key(plain)
                if any(accent_fits(typed, w) for w in self.ix.spellings.get(fold(decoded), ())):
                    return [Token(plain, fold(decoded))]
        elif f[-1:] in _TELEX_TONES and len(f) > 2 and f[:-1] in self.ix.known:
            # A tone key left after a word typed with its marks ("vàngf"): the word as marked.
            return [Token(tok.raw[:-1], f[:-1])]
        if not f.isalpha() and not f.isdigit():
            out: list[Token] = []
            for part in LETTERS_DIGITS.findall(f):
                out.extend(self.resolve(Token(part, part)))
            return out
        pieces = self.segment(f)
        if pieces:
            return [Token(p, p) for p in pieces]
        if not tok.raw.isascii():
            syllables = self.syllables_of(tok.raw)
            if syllables:
                return [Token(p, fold(p)) for p in syllables]
        return [tok]

    def syllables_of(self, raw: str) -> list[str] | None:
        """Words typed together with their marks, as in a hashtag (`#đồchay`, `#ănchayrằm`, `#quàtết`): the fewest
        words the search knows that spell it, each written as typed, so their marks still count. Not one syllable,
        maybe misspelt ("rượi", "thiềuu"), which is no words typed together."""
        if not 4 <= len(raw) <= 40 or well_formed(fold(raw), 0) or well_formed(fold(raw), 1):
            return None
        known = self.ix.known
        return _fewest_pieces(raw, lambda path, piece: fold(piece) in known and sum(map(has_marks, piece)) <= 2)

    def segment(self, word: str) -> list[str] | None:
        """Split words typed together (`matong`) into catalogue syllables that follow each other in the catalogue."""
        if not 4 <= len(word) <= 28:
            return None
        syllables, bigrams = self.ix.syllables, self.ix.bigrams
        return _fewest_pieces(
            word, lambda path, piece: piece in syllables and (not path or (path[-1], piece) in bigrams)
        )

    def concept_alts(self, key: Key, typed_vi: bool, q: float, typed: str | None = None) -> list[Alt]:
        alts: list[Alt] = []
        for idx, is_vi in self.ix.lexicon.concept_index.get(key, ()):
            concept = self.ix.lexicon.concepts[idx]
            if typed is not None and not self.concept_tone_fits(concept, key, typed):
                continue  # "dừa" (coconut) typed: not the concepts of dưa (melon) nor dứa (pineapple)
            # A Vietnamese word stands for its Vietnamese variants; an English word for both languages
            # (products have Vietnamese names; English names alone would miss most of the catalogue).
            phrases: tuple[Phrase, ...] = concept.vi if (is_vi and typed_vi) else concept.vi + concept.en
            phrases += concept.members
            for p in phrases:
                # The phrase itself as the lexicon writes it, too: within a known phrase a wrong mark is
                # more likely a slip than another word ("mật ong rưng"). An English word's one-syllable
                # Vietnamese translation is found only as written, marks and all: "mushroom" is nấm, never
                # the nam (south) of Sâm nam (a phrase of several is told apart by its words together).
                exact = not is_vi and p.vietnamese and len(p.key) == 1 and p.accents[0] is not None
                alts.append(Alt(p.key, q * LEXICON_ALT, p.accents, exact=exact))
        return [a for a in alts if a.key != key or any(a.accents)]

    def token_alts(self, key: str, accent: str | None) -> list[Alt]:
        """How one product word of the query may appear in a product: exactly, by regional spelling, by typo."""
        cache_key = (key, accent or "")
        cached = self.token_cache.get(cache_key)
        if cached is not None:
            return cached
        alts = [Alt((key,), 1.0, (accent,))]
        in_catalogue = key in self.ix.post
        sk = sound_key(key)
        if sk in self.ix.sound_post:
            # The sound key's postings hold the other spellings too (`tra` under `cha`), so always look;
            # the buyer's marks still apply, under the same rules (`trè` fits `chè`, `sợi` no `xôi`).
            marks = sound_accent(accent) if accent else None
            alts.append(Alt((sk,), 0.7 if in_catalogue else 0.9, (marks,), sound=True))
        swapped = other_final(key)
        if swapped is not None and sound_key(swapped) in self.ix.sound_post:
            # The south's -n/-ng and -c/-t ("mật on", "trà hoa cút"): a weak reading, found only beside other
            # words, as so many real words differ just there (cút, quail; sắt, iron; hồn, soul).
            base = other_final(accent[:-1]) if accent else None
            marks = sound_accent(base + accent[-1]) if accent and base else None
            q = FINAL_SWAP_KNOWN if in_catalogue else FINAL_SWAP
            alts.append(Alt((sound_key(swapped),), q, (marks,), sound=True))
        if not in_catalogue and len(alts) == 1 and key.isalpha():
            # A word the lexicon knows but the catalogue lacks (bia, cà phê) is most likely what it says,
            # not a typo of some catalogue word: its fuzzy matches count for half.
            damp = 0.5 if key in self.ix.lexicon.words else 1.0
            for cand, q in self.fuzzy(key):
                if not self.could_be_typo(accent, cand):
                    continue
                if cand in self.ix.post:
                    alts.append(Alt((cand,), q * damp, (None,)))
                if len(key) >= 5:  # "lichee" → lychee's translations; "hao" → "ham" would be noise
                    alts.extend(self.concept_alts((cand,), False, q * damp))
        if len(self.token_cache) > 50_000:
            self.token_cache.clear()
        self.token_cache[cache_key] = alts
        return alts

    def written_heads(self) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
        """From the products' names, folded word → the accent keys it is written with there:
        - the first words the lexicon knows as product words (their kind: "rượu", "măng");
        - those and every other product word of the lexicon that a product writes in a name ("nếp" in Gạo nếp),
          with marks as the lexicon writes it (not the "hóa" of "văn hóa"; a word without marks, "hoa", begins too
          many other words: "hoa quả", fruit);
        - the first words that are `kind_heads`, whatever the lexicon says of them."""
        first: dict[str, set[str]] = {}
        kinds: dict[str, set[str]] = {}
        words = self.lexicon.concept_index  # a word the lexicon knows as a product word: not a brand ("An Xoa")
        for opening in {doc.name_vi.split(None, 1)[0] for doc in self.ix.docs if doc.name_vi.strip()}:
            for t in tokenize(opening)[:1]:
                accents = accent_key(t.raw)
                if t.folded in self.kind_heads:
                    kinds.setdefault(t.folded, set()).add(accents)
                if (t.folded,) in words:
                    first.setdefault(t.folded, set()).add(accents)
        inner = {k: set(spelt) for k, spelt in first.items()}
        # (Looked up in the index, word by word, rather than read from every name again: at 100,000 products that
        # pass was a second of the build.)
        for k, accents in self.lexicon_product_words():
            if not accents.endswith("0") or not accents[:-1].isascii():
                written = self.ix.marked.get(k, {}).get(accents)
                named = self.ix.named_post.get(k)
                if written and named and not set(named).isdisjoint(written):
                    inner.setdefault(k, set()).add(accents)
        return first, inner, kinds

    def lexicon_product_words(self) -> set[tuple[str, str]]:
        """The one-word Vietnamese product words of the lexicon, (folded, accent key) as it writes them."""
        return {
            (p.key[0], p.accents[0] or p.key[0] + "0") for c in self.lexicon.concepts for p in c.vi if len(p.key) == 1
        }

    def names_product(self, key: Key) -> bool:
        """Does some product have these words side by side (uncached: for building, not for queries)?"""
        sets = [self.ix.pairs.get(pair) for pair in zip(key, key[1:], strict=False)]
        if not all(sets):
            return False
        first, *rest = sorted(sets, key=len)  # type: ignore[arg-type]
        return bool(set(first).intersection(*rest))

    def is_chat(self, word: str, accent: str) -> bool:
        """Is a word, written with these marks (an accent key), one the lexicon knows as chat around products (a
        quality, a need, a question) written the same way, or one of our kinds as the catalogue writes it, or a
        class of products (then the dictionary's word joins two kinds: "rượu chè", drinks; "bánh trái"; but "dầu
        dừa" is coconut oil, dưa being our melon)? A word the lexicon lists unmarked (shorthand) fits one without
        marks."""
        lex = self.lexicon
        if accent in self.ix.marked.get(word, ()) and (word,) in lex.concept_index:
            return True  # one of our kinds, as the catalogue writes it
        if any(
            lex.concepts[i].members and accent in (p.accents[0] for p in lex.concepts[i].vi if p.key == (word,))
            for i, _ in lex.concept_index.get((word,), ())
        ):
            return True  # a class of products ("bánh trái": cakes and fruit)
        written = [
            *lex.scaffolding.get((word,), ()),
            *(a for a, _ in lex.uses.get((word,), ())),
            *(a for a, _ in lex.asks.get((word,), ())),
        ]
        plain = accent == word + "0"
        return any(w[0] == accent or (w[0] is None and plain) for w in written)

    def could_be_typo(self, typed: str | None, word: str) -> bool:
        """Could a word typed with these marks be a slip for `word`, whose letters differ?

        A well-formed syllable typed with marks is taken for a typo only of a word marked the same way (same
        tone and letter marks: `rượi` for `rượu`); with other marks it is a word of its own (`sợi`, thread,
        is no `sớm`). Unmarked words and misspelt syllables (`thiềuu`) may be typos of anything.
        """
        if typed is None or not well_formed(typed[:-1], int(typed[-1])):
            return True
        return any(same_marks(typed, w) for w in self.ix.spellings.get(word, ()))

    def fuzzy(self, word: str) -> list[tuple[str, float]]:
        n = len(word)
        if n < 3:
            return []
        max_d = 2 if n >= 7 else 1
        found = process.extract(word, self.ix.fuzzy_vocab, scorer=OSA.distance, score_cutoff=max_d, limit=40)
        ranked: list[tuple[float, int, int, int, str]] = []
        letters = sorted(word)
        for cand, d, _ in found:
            if d == 0:
                continue
            if n <= 4 and len(cand) == n and sorted(cand) != letters and not _slip(word, cand):
                continue  # in a short word, one letter for another far from it on the keyboard is another word (sen, sơn)
            q = {3: 0.4, 4: 0.7, 5: 0.7}.get(n, 0.85) if d == 1 else 0.6
            if cand[0] != word[0]:
                q *= 0.8  # first letters are rarely mistyped
            # Among equals: swapped letters (hao→hoa), then a letter missed (huog→huong), then one too many;
            # then the commoner word.
            kind = 0 if sorted(cand) == letters else 1 if len(cand) > n else 2 if len(cand) == n else 3
            ranked.append((-q, kind, -len(self.ix.post.get(cand) or ()), len(ranked), cand))
        ranked.sort()
        return [(cand, -negq) for negq, _k, _f, _i, cand in ranked[:6]]

    def parse(self, query: str) -> ParsedQuery:
        cleaned = clean(query)
        text = STAR_SYMBOL.sub(r"\1 sao ", cleaned)
        if "/" in text:
            text = _PER_TIME.sub(_each, text)  # "10 thùng/tháng": each month
        toks: list[Token] = []
        coded: list[bool] = []  # from a token of letters and digits ("ST25", "10kg")
        clauses: set[int] = set()  # where a clause begins, after , . ; ! ? (word positions)
        for clause in _CLAUSE_BREAK.split(text[:MAX_QUERY_CHARS]):
            if len(toks) >= MAX_QUERY_TOKENS:
                break
            if toks:
                clauses.add(len(toks))
            for t in tokenize(clause)[: MAX_QUERY_TOKENS - len(toks)]:
                parts = self.resolve(t)
                toks.extend(parts)
                coded.extend([not t.folded.isalpha() and not t.folded.isdigit()] * len(parts))
        toks, coded = toks[:MAX_QUERY_TOKENS], coded[:MAX_QUERY_TOKENS]
        keys = [english_stem(t.folded) for t in toks]
        marked = [accent_key(t.raw) if has_marks(t.raw) else None for t in toks]
        out = ParsedQuery(keys=keys, marked=marked, clauses=frozenset(clauses))
        sounds = [sound_key(k, finals=True) for k in keys]
        words = sum(t.folded.isalpha() for t in toks)
        named = _Names(cleaned)
        unknown = [k not in self.ix.known for k in keys]
        diacritics = any(marked)
        # Written in English: no marks, and a third of its words are English function words Vietnamese has not.
        function_words = sum(only_english_stopword(t.raw) for t in toks) if not diacritics else 0
        english = words > LONG_MESSAGE and function_words * 3 >= words
        out.english_words = function_words > 0 and any(
            only_english_stopword(t.raw) and not could_be_vietnamese(t.raw, t.folded) for t in toks
        )
        q = QueryWords(toks, keys, marked, sounds, unknown, words, coded, named, diacritics, english)
        asks = self.ix.lexicon.asks
        asked_at: dict[str, list[tuple[int, int]]] = {}  # where each kind of question was asked
        for i in (
            [j for j, k in enumerate(keys) if k in self.ask_heads]
            if not self.ask_heads.isdisjoint(keys)
            else ()
        ):
            for m in range(1, min(self.ask_words, len(keys) - i) + 1):
                for accents, kind in asks.get(tuple(keys[i : i + m]), ()):
                    if not self.accent_agrees(marked, i, accents):
                        continue
                    if (
                        kind in _VETOES
                        and q.diacritics
                        and any(marked[i + k] is None and accents[k] for k in range(m))
                    ):
                        continue  # in a message written with marks, "gửi Ban quản lý" is no "gửi bán" (consign)
                    if (
                        m == 1
                        and marked[i] is None
                        and any(accents)
                        and (
                            q.diacritics  # in a message written with marks, "gia" is no "giá" ("quốc gia")
                            or is_stopword(toks[i].raw, keys[i])
                            or (kind in _VETOES and keys[i] in self.ix.post)
                        )
                    ):
                        # Typed plain, a common word is that word ("muon" is muốn, want, not mướn, hire) and a
                        # catalogue word may be the product ("vu sua" is vú sữa, not sửa, repair).
                        continue
                    asked_at.setdefault(kind, []).append((i, i + m))
        out.long = words > LONG_MESSAGE
        out.joins = [j for j, k in enumerate(keys) if k in _JOINS]
        i, n = 0, len(toks)
        while i < n:
            first = len(out.units)
            step = self.parse_at(q, i, out)
            for unit in out.units[first:]:
                unit.at = i
            i += step
        chosen(out)
        # (Beside a filter or a need, the other words may say more of it: "quê ngoại em ở đó", "công nhân".)
        filtered = bool(out.places or out.categories or out.stars is not None or out.uses)
        # The words left once the chat the lexicon knows is set aside (see register.length_factor).
        open_words = words if filtered else sum(len(u.text.split()) for u in out.units if u.role != "optional")

        def ends_of_kinds() -> set[int]:
            return {u.at + len(u.text.split()) for u in out.units if u.role == "content" and self.names_kind(u)}

        def goes_on(u: Unit, after: set[int]) -> bool:
            """Does the unknown word go on the phrase ending right before it, in its clause (and make no word of the
            language with the word before: "bảo quản")?"""
            return (
                u.role == "content"
                and u.at in after
                and u.at not in out.clauses
                and keys[u.at] not in self.second_syllables.get(keys[u.at - 1], ())
            )

        if open_words < words:
            # An unknown word right after a product word (Vietnamese puts the kind first) weighs by the words left
            # once the chat the lexicon knows is set aside: in "shop ơi có rượu sim không ạ" it is one of two words
            # asked, as in "rượu sim" (another wine), not one of seven. (Before the product word it is chat: "mẹ
            # mình thích ổi"; an English word is code-switching, unless right after a kind word: below.)
            factor = length_factor(open_words)
            ends = {u.at + len(u.text.split()) for u in out.units if u.role == "content" and not u.stray}
            # After a kind word a foreign-looking word names the kind too ("trà atiso", "rượu soju"), but not after
            # a name, where it is more often shorthand ("trám đen muối HH") or code-switching ("Châu Sơn gluten").
            kinds = ends_of_kinds()
            for u in sorted(out.units, key=lambda u: u.at):
                if (u.stray >= STRAY_VIETNAMESE and goes_on(u, ends)) or (
                    u.stray >= STRAY_FOREIGN and len(u.text) >= 4 and goes_on(u, kinds)
                ):
                    u.weight, u.kind_word = max(u.stray, STRAY_VIETNAMESE) * factor, True
                    ends.add(u.at + 1)  # and the unknown words that go on ("thịt trâu gác bếp")
            # An unknown word opening a phrase whose next word (past one more unknown word at most) is a product word
            # naming no kind, only a quality ("mít sấy", "khoai lang sấy", "sương sáo đen"): Vietnamese puts the thing
            # first, so the unknown word is the goods asked for and weighs as one. Only where goods are named: at the
            # start of a clause, or after a word of buying, having or counting ("mua", "có", "2 cân").
            placed = {u.at: u for u in out.units if u.role == "content"}
            after = {u.at + len(u.text.split()) for u in placed.values() if u.text not in _BEFORE_GOODS}
            for u in placed.values():
                if u.stray < STRAY_VIETNAMESE or u.kind_word or u.at in after or q.named.has(toks[u.at]):
                    continue
                if u.at and u.at not in out.clauses and keys[u.at - 1] not in _BEFORE_GOODS and not keys[u.at - 1].isdigit():
                    continue
                j = u.at + 1
                if j in placed and placed[j].stray >= STRAY_VIETNAMESE and j not in out.clauses:
                    j += 1  # "khoai lang | sấy"
                quality = placed.get(j)
                if quality is not None and not quality.stray and j not in out.clauses and not self.names_kind(quality):
                    u.weight, u.kind_word = max(u.stray, STRAY_VIETNAMESE) * factor, True
        elif any(u.stray >= STRAY_VIETNAMESE for u in out.units):
            # Beside a filter or a need every word keeps its weight, but an unknown word right after a kind word still
            # says which kind ("vải địa kỹ thuật … ở Việt Yên" is no lychee): no chat to cap (Unit.kind_word).
            kinds = ends_of_kinds()
            for u in sorted(out.units, key=lambda u: u.at):
                if u.stray >= STRAY_VIETNAMESE and goes_on(u, kinds):
                    u.kind_word = True
                    kinds.add(u.at + 1)
        if asked_at:
            # A longer question or need holds the shorter ones inside it: "visa card" asks how to pay, not for a
            # visa; "buon ngu" is sleepy (buồn ngủ), no wholesale (buôn).
            said = [span for where in asked_at.values() for span in where] + out.use_spans
            asked_at = {
                kind: kept
                for kind, where in asked_at.items()
                if (kept := [(s, e) for s, e in where if not any(a <= s and e <= b and b - a > e - s for a, b in said)])
            }
        device = self.device_named(keys, marked) if "may" in keys else None
        if device is not None:
            asked_at.setdefault("supplies", []).append((device, device + 1))
        if asked_at:
            # Words of a place's name are not questions: "Lục Ngạn" has no "ngàn" (thousand) in it.
            places = {" ".join(p.key) for p in out.places}
            spans = [(u.at, u.at + len(u.text.split())) for u in out.units if u.role == "soft" and u.text in places]
            for kind, where in asked_at.items():
                if kind in _VETOES:
                    # Said of a product, not asked for: "pesticide-free", "không dùng thuốc trừ sâu".
                    where = [(s, e) for s, e in where if not self.denied(keys, s, e)]
                    # Who the buyer is, not what is asked: "chúng tôi là công ty tổ chức sự kiện, cần …", "I am a
                    # tour guide". ("Là" right before, or a word for a business between.)
                    where = [(s, e) for s, e in where if not _IS.intersection(keys[max(0, s - 3) : s])]
                    # The bot itself: "người thật hay máy", "am I talking to a machine", "nói chuyện với máy".
                    where = [(s, e) for s, e in where if not _THE_BOT.intersection(keys[max(0, s - 4) : s])]
                if where and kind not in out.asks and not all(any(a <= s and e <= b for a, b in spans) for s, e in where):
                    out.asks.append(kind)
                    out.ask_at[kind] = where
        if "gift" not in out.uses and not self.giving_heads.isdisjoint(keys) and self.gives(keys, marked):
            out.uses.append("gift")
            out.implied.add("gift")
        if "party" in out.uses and "gift" in out.uses and all(
            words in _OCCASIONS for use, words in out.use_phrases if use == "party"
        ):
            # A birthday or a party beside a gift is its occasion ("sinh nhật ba muốn tặng …"): a present, not the
            # food served at one. (Drinking is a taste: "biếu chú ít quà, chú thích lai rai" is a gift of wine.)
            out.uses.remove("party")
        if out.uses:
            self.need_words_typed_plain(keys, marked, out)
        self.the_buyers_own(keys, out)
        self.superlatives(keys, marked, lambda i: named.has(toks[i]), out)
        if self.lexicon.dishes:
            self.dishes_served(keys, marked, out)
        if "service" in out.asks and "gift" in out.uses:
            out.asks.remove("service")  # beside a gift it is who receives it: "anh rể làm bác sĩ thú y … biếu anh"
        if not self.negation_heads.isdisjoint(keys) or (q.english and "no" in keys):
            self.rule_out_negated(keys, marked, out, q.english)
        if not _THEN.keys().isdisjoint(keys):
            self.rule_out_said_before(keys, marked, out)
        if "free" in keys:
            # "gluten free noodles", "sugar-free candy": what is free of is no goods asked for, and neither is "free".
            free = {j for j, k in enumerate(keys) if k == "free" and j > 0}
            out.units = [
                u
                for u in out.units
                if not (u.stray and u.role == "content" and (u.at + len(u.text.split()) in free or u.at in free))
            ]
        if not self.modifier_heads.isdisjoint(keys):
            self.read_modifiers(q, out)
        if not _GOODS_CUES.isdisjoint(keys) and any(u.stray for u in out.units):
            self.read_unlisted_goods(q, out)
        if "chay" in keys:
            self.vegetarian_versions(q, out)
        if not self.goods_heads.isdisjoint(keys):
            self.read_other_goods(q, out)
        if not self.process_heads.isdisjoint(keys):
            self.read_processes(q, out)
        if not self.origins.isdisjoint(keys):
            self.read_origins(q, out)
        # What is written as names matters to a long message's partial match: read them for those only (and
        # wherever parse_at needed them already).
        out.names = (
            frozenset(t.folded for t in toks if named.has(t)) if out.long or named.known else frozenset()
        )
        if out.names:
            asked_at = {
                u.at + j
                for u in out.units
                if u.role in ("content", "elsewhere")
                for j in range(len(u.text.split()))
            }
            runs = [
                k if t.folded in out.names and j in asked_at else None
                for j, (t, k) in enumerate(zip(toks, keys, strict=True))
            ]
            out.name_phrases = _runs(runs)
        # A word said twice ("Hảo Hảo", "mật ong mật ong") is one thing asked for, not two: where it is a product
        # word once and a word nobody listed once ("kiểm tra … ấm trà"), the product word.
        kept: dict[tuple[str, str], int] = {}
        units = []
        for u in out.units:
            n = kept.get((u.role, u.text))
            if n is None:
                kept[(u.role, u.text)] = len(units)
                units.append(u)
            elif units[n].stray and not u.stray:
                units[n] = u
        if out.long:  # (a chat message: a tone typed is the word's, see Alt.tones)
            for u in units:
                if any(any(a.accents) for a in u.alts):
                    u.alts = [_toned(a) if any(a.accents) and not (a.sound or a.exact) else a for a in u.alts]
        out.units = units
        return out

    def dishes_served(self, keys: list[str], marked: list[str | None], out: ParsedQuery) -> None:
        """A dish stands for its ingredients only where the buyer cooks it ("làm bún chả cho cả nhà", "nấu chè
        ngô", "making fresh spring rolls"). Elsewhere it is the dish itself: beside a product word it only says
        what that is for ("bún tươi … cho quán bún chả"); alone, no product is it ("bún ốc nguội ăn ở đâu")."""
        if "cooking" in out.uses or self.dish_heads.isdisjoint(keys):
            return
        dishes = [u for u in out.units if tuple(u.text.split()) in self.lexicon.dishes]
        if not dishes:
            return
        starts = {u.at for u in dishes} | {u.at - 1 for u in dishes if u.at and keys[u.at - 1] == "mon"}
        if any(
            k in _COOKING and marked[i] in (None, _COOKING[k]) and (k not in _COOKING_BEFORE or i + 1 in starts)
            for i, k in enumerate(keys)
        ) or asks_ingredients(keys):
            return
        others = [
            u
            for u in out.units
            if u.role == "content" and u not in dishes and not u.stray and (u.weight >= TELLING or self.names_kind(u))
        ]
        for u in dishes:
            if others:
                u.role, u.weight = "optional", 0.0
            else:
                u.lacked = True

    @staticmethod
    def device_named(keys: list[str], marked: list[str | None]) -> int | None:
        """Does the message name a machine, typed with its marks ("máy dập bánh khảo", "máy in date lên túi
        bánh"): supplies, whatever product it works on? Not a factory ("nhà máy"), a motorbike ("xe máy"), an
        electronics shop ("điện máy"), a plane ("máy bay"), the buyer's phone ("máy mình") or a machine that
        only wrote the message ("máy ghi âm nó gõ …", "máy tự sửa thành …"). Where it is named, or None."""
        return next(
            (
                i
                for i, k in enumerate(keys)
                if k == "may"
                and marked[i] == "may1"
                and i + 1 < len(keys)
                and (i == 0 or keys[i - 1] not in _NOT_A_MACHINE_BEFORE)
                and keys[i + 1] not in _NOT_A_MACHINE_AFTER
                and not _MACHINE_TYPED.intersection(keys[i + 1 : i + 5])
            ),
            None,
        )

    def accent_agrees(self, marked: list[str | None], i: int, accents: tuple[str | None, ...]) -> bool:
        """Do the buyer's marks on tokens i.. fit the lexicon phrase's marks (unmarked on either side fits)?"""
        for k, want in enumerate(accents):
            got = marked[i + k]
            if got is None:
                continue
            # A word typed with marks is not an unmarked (English, abbreviated) lexicon word: "mỳ" is not "my".
            if want is None or not accent_fits(got, want):
                return False
        return True

    def parse_at(self, q: QueryWords, i: int, out: ParsedQuery) -> int:
        """Read what starts at token i (stars, a place, a phrase, scaffolding, a word); return tokens taken."""
        lex = self.ix.lexicon
        toks, keys, marked, sounds, unknown = q.toks, q.keys, q.marked, q.sounds, q.unknown
        n = len(keys)
        if keys[i] == "vai" and marked[i] in (None, _FEW) and i + 1 < n and keys[i + 1] in _COUNTED:
            return 1  # "vài món", "vai thung": a few, no lychee ("vải")
        # Stars: "4 sao", "bốn sao", "4-star", "từ 4 sao trở lên", "at least 4 stars".
        before = 0
        for m in (2, 1):
            if tuple(keys[i : i + m]) in lex.at_least_before and i + m + 1 < n:
                before = m
                break
        j = i + before
        # ("5 xao": the s/x of Northern speech, typed without a tone mark, after a digit.)
        if j + 1 < n and keys[j] in lex.star_numbers and (
            (keys[j + 1],) in lex.star_markers or (keys[j].isdigit() and keys[j + 1] == "xao" and marked[j + 1] is None)
        ):
            value = lex.star_numbers[keys[j]]
            if not (marked[j] and keys[j] == "nam" and marked[j] != accent_key("năm")):
                # The first rating named is the one asked for ("3 sao không hay toàn 4 sao"); one after a
                # negation is not ("ba sao … không cần bốn sao").
                placed = {j for u in out.units if not u.stray for j in range(u.at, u.at + len(u.text.split()))}
                end = i
                while end > 0 and keys[end - 1] in _BEFORE_STARS:
                    end -= 1  # "không phải loại 3 sao", "không lấy hàng 3 sao"
                negated = any(
                    tuple(keys[k:end]) in lex.negations and not placed.intersection(range(k, end))  # "Yên Dũng": no đừng
                    for k in range(max(0, end - 3), end)
                )
                if not negated:
                    out.star_mentions.append(value)
                if out.stars is None and not negated:
                    out.stars = value
                step = before + 2
                for m in (2, 1):
                    if tuple(keys[i + step : i + step + m]) in lex.at_least_after:
                        out.min_stars = True
                        step += m
                        break
                out.min_stars = out.min_stars or before > 0
                return step
        place = self.match_place(q, i)
        longest = min(lex.max_phrase + 2, n - i)
        if not unknown[i] and keys[i] not in self.heads and sounds[i] not in self.sound_heads:
            longest = 1  # no phrase of the lexicon or place name starts with this word, however spelt
        here = self.concept_length(keys, i)
        if not here and i + 1 < n and (keys[i], keys[i + 1]) in lex.categories:
            here = 2  # a product group's two words ("món ăn"), which a product phrase may overlap ("món ăn vặt")
        for j in range(i + 1, i + here):
            if j + self.concept_length(keys, j) > i + here:
                # A longer known phrase starts inside this one ("gạo | nếp cái hoa vàng"): let it.
                longest = j - i
                break
        known = self.phrase_lengths.get(keys[i], frozenset())
        for m in range(longest, 0, -1):
            if m not in known and (place is None or place[1] != m) and (m < 2 or True not in unknown[i : i + m]):
                continue  # no table holds a span of this length from here, nor could a misspelt phrase be one
            span = tuple(keys[i : i + m])
            words = " ".join(keys[i : i + m])
            if place is not None and place[1] == m:
                if not self.sent_to(keys, i):
                    self.take_place(place[0], out)
                return m
            if (
                span in self.elsewhere
                and any(
                    # Written with other marks it is other words: "mỳ Châu Sơn là …" is no Sơn La.
                    self.accent_agrees(marked, i, accents)
                    for accents in self.elsewhere[span]
                )
                and (span not in self.districts or self.district_named(q, i, m))
            ):
                if (
                    self.after_destination_cue(q, i, m)
                    or self.after_place(i, out)
                    or (i and (keys[i - 1] == "nguoi" or keys[i - 1] in _PERSONS) and self.going(keys[i - 1], marked[i - 1]))
                ):
                    # "ship ra Hà Nội", "send a box to Hanoi", "xe khách Bắc Giang - Đà Nẵng": where it goes, not
                    # what it is; "người Nhật Bản", "vợ Đài Loan": who somebody is
                    return m
                # Found in a product only as typed: "Khánh Hòa" (the province) is no "Khánh Hoa" (a producer).
                alt = Alt(span, 1.0, tuple(marked[i : i + m]), exact=True)
                out.units.append(Unit(words, phrase_weight(m), [alt], "elsewhere"))
                out.words.extend(span)
                return m
            ruled_out = [x for a, x in lex.without.get(span, ()) if marks_are(marked[i : i + m], a)]
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
                use = self.use_named(span, toks[i : i + m], marked[i : i + m], q.diacritics) if span in lex.uses else None
                if use is not None and use not in out.uses:  # a group that is a need too: "đồ ăn khô" (keeps)
                    out.uses.append(use)
                    out.use_spans.append((i, i + m))
                    out.use_phrases.append((use, words))
                out.units.append(
                    Unit(words, phrase_weight(m), [Alt(span, 1.0, tuple(marked[i : i + m]))], "soft")
                )
                out.words.extend(span)
                return m
            use = self.use_named(span, toks[i : i + m], marked[i : i + m], q.diacritics) if span in lex.uses else None
            if (
                use is not None
                and i
                and i not in out.clauses
                and keys[i - 1] in _DEADLINES
                and marked[i - 1] in (None, _DEADLINES[keys[i - 1]])
            ):
                # "giao trước Tết", "deliver before Tet": a day the goods must arrive by, not the need.
                return m
            if use is not None:
                if use not in out.uses:
                    out.uses.append(use)
                out.use_spans.append((i, i + m))
                out.use_phrases.append((use, words))
                # A kind of product inside the phrase, as written ("nhắm rượu": wine; "thắp hương": the product
                # whose name begins "Hương"; "mâm ngũ quả": fruit; not "ăn chay": An Xoa, nor "làm quà": quả).
                # A word typed plain is read as the lexicon writes the phrase ("dau lung" is đau lưng: no dầu).
                written = next(
                    (a for a, code in lex.uses[span] if code == use and self.accent_agrees(marked, i, a)), ()
                )
                for j, k in enumerate(keys[i : i + m], start=i):
                    typed = marked[j] or (written[j - i] if j - i < len(written) else None)
                    spelt = typed in self.ix.product_spellings.get(k, ())  # exactly as a product or the lexicon
                    if (k,) in lex.concept_index and (typed is None or (spelt and self.tone_fits(typed, k))):
                        out.use_products.append((k, False))
                    elif k in self.kind_heads and spelt and marked[j] is not None:
                        out.use_products.append((k, True))
                return m
            if m >= 2 and span in lex.concept_index and self.concept_marks_fit(span, marked, i):
                self.take_concept(span, span, 1.0, words, marked[i : i + m], out)
                return m
            if (
                span in lex.scaffolding
                # "Minh", "U" written as names are names, not "mình" or a "u" of "vải u hồng"
                and not (m == 1 and span[0] in self.ix.post and q.named.has(toks[i]))
                # After an amount, a word the catalogue has is the goods counted: "1 tạ oi" is ổi, not "ơi"
                and not (m == 1 and span[0] in self.ix.post and not marked[i] and i not in out.clauses and _counted(keys, i))
                and any(self.accent_agrees(marked, i, a) for a in lex.scaffolding[span])
            ):
                if m == 1 and span[0] in self.ix.post and not marked[i]:
                    # Typed without marks, a scaffolding word the catalogue also uses may be part of a name
                    # (`my`: my/mỳ, `ban`: bán/bản, `co`: có/cơ): it counts for a product that has it and
                    # is left out of the sums for one that hasn't.
                    # Not where it is only part of a place name or an opaque compound, though: an English "the"
                    # is no "Thế" of "Yên Thế".
                    out.units.append(Unit(words, 1.0, [Alt(span, 1.0, (None,), free=True)], "soft"))
                    out.words.append(span[0])
                elif m >= 2 or span[0] in self.ix.post:
                    out.units.append(Unit(words, 0.0, [Alt(span, 1.0, tuple(marked[i : i + m]))], "optional"))
                return m
            if m >= 2:
                # A known phrase in a regional spelling ("trả nụa" for "chả lụa"), or with one word mistyped
                # ("dong trung ha thoa", "luc ngna"): still that phrase.
                spoken = self.sound_phrases.get(tuple(sounds[i : i + m])) if any(unknown[i : i + m]) else None
                if spoken is not None and self.sounds_fit(marked[i : i + m], spoken):
                    self.take_concept(span, spoken, NEAR_PHRASE, words, marked[i : i + m], out)
                    return m
                near = (
                    self.near_phrase(span, marked[i : i + m]) if unknown[i : i + m].count(True) == 1 else None
                )
                if isinstance(near, PlaceName):
                    self.take_place(near, out)
                    return m
                if near is not None:
                    self.take_concept(span, near, NEAR_PHRASE, words, marked[i : i + m], out)
                    return m
        # A plain product word; a bare number (10kg, 1 con) that is no star rating says nothing about the product.
        key = keys[i]
        if key.isdigit():
            if i + 1 < n and keys[i + 1] in _MONEY_UNITS and "price" not in out.asks:
                out.asks.append("price")  # "200k", "1 triệu"
            if i + 1 < n and self.time_unit(keys[i + 1], marked[i + 1]):
                return 2  # "họp lớp 20 năm", "bé 10 tháng": how long or how old, no product word
            if i + 1 < n and keys[i + 1] in _PACKS and marked[i + 1] in (None, _PACKS[keys[i + 1]]):
                return 2  # "24 lon", "3 bó": how it is packed, no product word ("lon" is no lợn here)
            return 1
        # The buyer's own street, hamlet, ward or works ("phường Dĩnh Kế", "nhà em ở Đình Trám"), which no product
        # names: neither product words nor another place's goods (the word for it, then the name).
        if i + 1 < n and self.locale(q, i) and self.own_place(q, i + 1):
            return 1
        own = self.own_place(q, i)
        if own and (i == 0 or not q.named.has(toks[i - 1])):
            return own
        start = i if i and q.named.has(toks[i]) else 0
        while start and q.named.has(toks[start - 1]):
            start -= 1  # the first word of the name ("ve Thu Duc")
        if (
            start
            and self.going(keys[start - 1], marked[start - 1], not _SENDING.isdisjoint(keys[:start]))
            and not (keys[start - 1] != "nguoi" and keys[start - 1] not in _PERSONS and self.visit_named(q, start))
        ):
            # A name the buyer or a recipient travels to or comes from, not a catalogue place ("sang Đức dự hội
            # chợ", "người yêu em là người Đức", "ship … về Thủ Đức"): even when a producer's name shares the word
            # (Hợp Đức).
            return 1
        alts = list(self.token_alts(key, marked[i]))
        strict = q.diacritics and out.long
        # A catalogue word that is a syllable of another word of the language here ("mới hóa trị xong", "xuất hóa
        # đơn") is a word of the chat (an unknown word stays one: "khoai" of "khoai lang" may be goods).
        stray = self.is_stray(key, toks[i].raw, marked[i], strict)
        within = not stray and not q.named.has(toks[i]) and self.within_word(q, i, out)
        if stray or within:
            if (
                q.named.has(toks[i])
                and key not in self.ix.post
                and key not in self.origins  # "my Japanese colleague": see read_origins
                and not self.after_destination_cue(q, i)
            ):
                # A name the catalogue does not know, written as a name mid-sentence ("bưởi Diễn", "xúc xích
                # Đức", "from New Zealand"): another place or maker, as decisive as a place it lists elsewhere.
                alt = Alt((key,), 1.0, (marked[i],))
                out.units.append(Unit(toks[i].folded, 1.0, [alt], "elsewhere", stray=STRAY_VIETNAMESE))
                out.words.append(key)
                return 1
            base = STRAY_STOPWORD if within else stray_base(toks[i].raw, toks[i].folded, q.words, q.coded[i])
            weight = base * length_factor(q.words)
            out.units.append(Unit(toks[i].folded, weight, alts, "content", stray=base))
            out.words.append(key)
            return 1
        if (key,) in lex.concept_index and self.tone_fits(marked[i], key):
            alts += self.concept_alts((key,), bool(marked[i]) or self.looks_vietnamese((key,)), 1.0, marked[i])
        if out.long and (
            ((marked[i] or q.diacritics) and is_stopword(toks[i].raw, toks[i].folded, strict))
            or (q.english and is_english_stopword(toks[i].raw))
        ):
            # A common word of chat that a product name happens to have ("ngọt", "nhà", "quá"): in a long
            # message it counts where found, it is not asked for. (Typed plain, it is that word only in a
            # message written with marks: "cao" there is high, in "cao ngua bach" maybe a herbal paste.)
            out.units.append(Unit(toks[i].folded, 1.0, alts, "common"))
            out.words.append(key)
            return 1
        out.units.append(Unit(toks[i].folded, 1.0, alts, "content"))
        out.words.append(key)
        return 1

    @staticmethod
    def denied(keys: list[str], start: int, end: int) -> bool:
        """Is the phrase at start..end denied ("không … thuốc trừ sâu", "pesticide-free", "no preservatives")?"""
        return (end < len(keys) and keys[end] == "free") or bool(_DENIALS.intersection(keys[max(0, start - 2) : start]))

    @staticmethod
    def going(key: str, typed: str | None, sent: bool = False) -> bool:
        """Is this word one of going (see _GOING), or a person whose origin the name after it says (_PERSONS), as
        typed? Typed plain, a word of going is one when goods are `sent` before it ("ship … ve Thu Duc": về)."""
        found = _GOING.get(key) or _PERSONS.get(key)
        if found is None:
            return False
        written, plain = found
        return (plain or sent) if typed is None else typed == accent_key(written)

    @staticmethod
    def locale(q: QueryWords, i: int) -> bool:
        """Is word i one for a place people live, work or meet (see _LOCALES), as typed?"""
        found = _LOCALES.get(q.keys[i])
        if found is None:
            return False
        written, plain = found
        typed = q.marked[i]
        return plain if typed is None else typed == accent_key(written)

    def own_place(self, q: QueryWords, start: int) -> int:
        """The length of the name at `start` when it is where the buyer lives or works: written as a name right after
        a word for such a place or after "ở" of a person (see locale, resident_at), with a word no product has as
        typed, and no other province's or district's name ("cung đình Huế" stays Huế). 0 otherwise."""
        toks, keys, marked = q.toks, q.keys, q.marked
        if not start or start >= len(toks) or not (self.locale(q, start - 1) or self.resident_at(q, start)):
            return 0
        if not q.named.has(toks[start]):
            return 0
        end = start
        while end < len(toks) and q.named.has(toks[end]):
            end += 1
        if any(tuple(keys[start : start + m]) in self.elsewhere for m in range(1, end - start + 1)):
            return 0
        if tuple(keys[start:end]) in self.home_wards:
            return end - start  # a commune or ward of the catalogue's province, whatever words it shares
        if not any(self.is_stray(keys[j], toks[j].raw, marked[j], q.diacritics) for j in range(start, end)):
            return 0  # every word is a catalogue word as typed: maybe the product's own place ("thôn Thủ Dương")
        return end - start

    @staticmethod
    def resident_at(q: QueryWords, start: int) -> bool:
        """Does the name at `start` say where somebody is: "ở"/"tại"/"in"/"at" before it, and before that a person,
        a home or a verb of living ("nhà em ở Dĩnh Trì", "bà ở Kép", "we live in Tho Xuong")?"""
        if start < 2 or q.keys[start - 1] not in _AT:
            return False
        written = _AT[q.keys[start - 1]]
        typed = q.marked[start - 1]
        if written is not None and (typed != written if typed is not None else q.diacritics):
            return False
        return q.keys[start - 2] in _RESIDENTS

    @staticmethod
    def time_unit(key: str, typed: str | None) -> bool:
        """Is the word after a number a unit of time or age, as typed?"""
        if key not in _TIME_UNITS:
            return False
        written = _TIME_UNITS[key]
        if written is None or typed is None:
            return written is None or key != "gio"
        return typed == accent_key(written)

    def gives(self, keys: list[str], marked: list[str | None]) -> bool:
        """Does the message name a way of giving and a person it is for ("về ra mắt bố mẹ vợ nên mang gì",
        "what should I bring my girlfriend's parents")? Then it asks for a gift, in either order."""
        lex = self.lexicon

        def said(table: dict[Key, list[tuple[str | None, ...]]]) -> bool:
            return any(
                self.accent_agrees(marked, i, accents)
                for i in range(len(keys))
                for m in (1, 2, 3)
                for accents in table.get(tuple(keys[i : i + m]), ())
            )

        return said(lex.giving_verbs) and said(lex.recipients)

    def rule_out_negated(
        self, keys: list[str], marked: list[str | None], out: ParsedQuery, english: bool = False
    ) -> None:
        """"ngoài ổi ra còn trái gì", "trừ rượu", "not tea": the product word right after a negation is ruled
        out, not asked for; a product group named so is not asked for ("ngoài đồ ăn ra … đồ thủ công")."""
        for i in range(len(keys)):
            if keys[i] not in self.negation_heads and keys[i] != "no":
                continue
            m = next((m for m in (3, 2, 1) if i + m <= len(keys) and self.negates(keys, marked, i, m)), 0)
            if not m and keys[i] == "no" and marked[i] is None and (
                english or (i + 1 < len(keys) and not could_be_vietnamese(keys[i + 1], keys[i + 1]))
            ):
                # "no meat and no fruit": in English only ("no" typed plain is also nó, it), or before a word that
                # is no Vietnamese syllable ("… cook with? no meat, no egg, no honey").
                m = 1
            group_only = False
            if not m and keys[i] in _NOT_BEFORE_GROUP:
                # "không tặng rượu", "không ai uống rượu", "chẳng bao giờ ăn cay": a negation, then verbs of having,
                # giving or wanting (as typed), then the product word they deny.
                m = self.denied_verbs(keys, marked, i + 1, out)
                if m:
                    m += 1
            if not m and keys[i] in _NOT_BEFORE_GROUP and i + 1 not in out.clauses:
                # "không" before a product group, not after it as a question ("có đồ ăn không"), rules the group
                # out: "thảo dược thôi, không đồ ăn"; before a product word, that product: "nhà dặn không rượu".
                m = 1
                group_only = not any(
                    u.at == i + 1 and u.role == "content" and not u.stray and self.names_kind(u) for u in out.units
                )
            if not m:
                continue
            if not (m == 1 and keys[i] in _NOT_BEFORE_GROUP):
                # "cô không dùng đồ bổ": no tonic is wanted (a bare "không" before a need's phrase says the need
                # itself: "để không buồn ngủ" is to stay awake)
                self.rule_out_need(i + m, out)
            said = [
                u
                for u in out.units
                if u.role == "soft"
                and (u.at == i + 1 if group_only else i <= u.at <= i + m + 1)
                and not any(i < c <= u.at for c in out.clauses)  # "not food, drinks only": the drinks are asked
            ]
            while said:
                # "doesn't drink …", "không uống …", "ngoài đồ ăn ra", "not food": that group is not asked for, nor
                # those listed after it ("không cần đồ ăn hay đồ uống").
                group = said.pop(0)
                code = self.lexicon.categories.get(tuple(group.text.split()))
                if code is None:
                    # A place ruled out ("nothing from Lục Ngạn this time", "không lấy hàng Lục Ngạn"): not asked about.
                    # (Typed plain a one-word negation may be another word: "que ngoai o Yen Dung" is quê ngoại.)
                    place = next((p for p in out.places if " ".join(p.key) == group.text), None)
                    if place is not None and group.at > i and (m > 1 or marked[i] is not None or english):
                        out.units.remove(group)
                        out.places.remove(place)
                    continue
                out.units.remove(group)
                if code in out.categories:
                    out.categories.remove(code)
                end = group.at + len(group.text.split())
                if end < len(keys) and keys[end] in _LISTING and end + 1 not in out.clauses:
                    said += [u for u in out.units if u.role == "soft" and u.at == end + 1 and u not in said]
            if group_only:
                continue
            # One word may come between ("không uống được rượu"), but not after "có": "không có lúa mì" is wheat.
            reach = 0 if keys[i + m - 1] == "co" else 1
            target = next(
                (
                    u
                    for u in out.units
                    if u.role in ("content", "soft", "common")
                    and not u.stray
                    and i + m <= u.at <= i + m + reach
                    and u.alts[0].key not in self.lexicon.categories
                    and not any(i < c <= u.at for c in out.clauses)
                    # After an English negation an article is no product word: "not the new commune" rules out
                    # no Yên Thế.
                    and not (keys[i] in _ENGLISH_NEGATIONS and is_english_stopword(u.text))
                ),
                None,
            )
            if target is not None:
                # The negation's own words are no goods ("trừ" typed with its marks is no product word either).
                out.units = [u for u in out.units if not (i <= u.at < i + m and u.stray)]
            while target is not None:
                out.units.remove(target)
                out.negated.update(range(target.at, target.at + len(target.text.split())))
                key = target.alts[0].key
                # A product's name goes on in the words right after it ("trừ rượu Diệp Nhật ra", "ngoài mỳ gạo Cảnh
                # Thụy ra"): all of it is ruled out, the commune in it no place asked about.
                while (more := self.name_goes_on(key, target.at + len(target.text.split()), out)) is not None:
                    out.units.remove(more)
                    out.negated.update(range(more.at, more.at + len(more.text.split())))
                    out.places = [p for p in out.places if " ".join(p.key) != more.text]
                    key = (*key, *more.alts[0].key)
                    target = more
                # Named for itself elsewhere ("Rượu nếp ngâm hạ thổ … không uống được rượu nặng"): only where that
                # leaves something.
                named = any(
                    u.role in ("content", "common") and set(key) <= set(u.alts[0].key) for u in out.units
                )
                ruled_out = Exclusion(key, soft=named)
                if ruled_out not in out.excluded:
                    out.excluded.append(ruled_out)
                # A list goes on: "cấm thịt với hoa quả tươi", "no wine or tea".
                end = target.at + len(target.text.split())
                target = (
                    next(
                        (
                            u
                            for u in out.units
                            if u.role in ("content", "soft", "common") and not u.stray and u.at == end + 1
                        ),
                        None,
                    )
                    if end < len(keys) and keys[end] in _JOINS
                    else None
                )

    def name_goes_on(self, key: Key, end: int, out: ParsedQuery) -> Unit | None:
        """The unit right after a product word ending at `end` that goes on naming one product with it, side by side
        in its name ("rượu" + "Diệp Nhật"), or None."""
        more = next(
            (
                u
                for u in out.units
                if u.at == end and u.role in ("content", "soft") and not u.stray and end not in out.clauses
            ),
            None,
        )
        if more is None or more.alts[0].key in self.lexicon.categories:
            return None
        return more if self.ix.phrase_docs((*key, *more.alts[0].key)) else None

    @staticmethod
    def rule_out_need(at: int, out: ParsedQuery) -> None:
        """The need whose phrase starts at `at`, right after a negation, is not asked for, unless the message names it
        elsewhere too."""
        for n, (start, _) in enumerate(out.use_spans):
            if start != at or n >= len(out.use_phrases):
                continue
            code = out.use_phrases[n][0]
            if code in out.uses and sum(1 for c, _ in out.use_phrases if c == code) == 1:
                out.uses.remove(code)

    def rule_out_said_before(self, keys: list[str], marked: list[str | None], out: ParsedQuery) -> None:
        """"trà cũng không uống", "ăn uống thì khỏi", "rượu thì thôi": the product word or group before "thì" or
        "cũng" and a negation that ends its clause (verbs between) is ruled out, as `rule_out_negated` does after
        one."""
        n = len(keys)
        for i in range(1, n):
            j = i
            while j < n and keys[j] in _THEN and marked[j] in (None, _THEN[keys[j]]):
                j += 1
            if j == i or j >= n or (i > 1 and keys[i - 1] in _THEN):
                continue
            negation = keys[j] in _NOT_BEFORE_GROUP or (keys[j] in _DONE_WITH and marked[j] in (None, _DONE_WITH[keys[j]]))
            if not negation:
                continue
            end = j + 1 + (self.denied_verbs_only(keys, marked, j + 1, out) if keys[j] in _NOT_BEFORE_GROUP else 0)
            if end < n and end not in out.clauses:
                continue  # the negation goes on to other words: "mật ong thì không ngọt lắm"
            out.units = [u for u in out.units if not (u.at == j and u.stray)]  # "khỏi" of "thì khỏi": no goods
            said = next((u for u in out.units if u.at + len(u.text.split()) == i and u.role in ("content", "soft", "common") and not u.stray), None)
            if said is None:
                continue
            code = self.lexicon.categories.get(tuple(said.text.split()))
            out.units.remove(said)
            if code is not None:
                if code in out.categories:
                    out.categories.remove(code)
                continue
            out.negated.update(range(said.at, said.at + len(said.text.split())))
            ruled_out = Exclusion(said.alts[0].key)
            if ruled_out not in out.excluded:
                out.excluded.append(ruled_out)

    @staticmethod
    def denied_verbs_only(keys: list[str], marked: list[str | None], i: int, out: ParsedQuery) -> int:
        """How many words from i, up to three, are verbs (and "ai", "được", "còn"…) a negation denies with (see
        _DENIED_BY), as typed and in one clause."""
        n = 0
        while n < 3 and i + n < len(keys) and i + n not in out.clauses:
            written = _DENIED_BY.get(keys[i + n])
            if written is None or marked[i + n] not in (None, written):
                break
            n += 1
        return n

    def denied_verbs(self, keys: list[str], marked: list[str | None], i: int, out: ParsedQuery) -> int:
        """How many such verbs from i a negation before them makes deny the product word, or the need, right after
        them ("không [tặng] rượu", "không [ai uống] rượu", "không [dùng] đồ bổ"); 0 when none follows."""
        n = self.denied_verbs_only(keys, marked, i, out)
        end = i + n
        if not n or end in out.clauses:
            return 0
        if not any(u.at == end and u.role in ("content", "soft", "common") and not u.stray for u in out.units) and not any(
            start == end for start, _ in out.use_spans
        ):
            return 0
        return n

    def negates(self, keys: list[str], marked: list[str | None], i: int, m: int) -> bool:
        """Are the m words at i a negation, as written? "cắm trại" (camping) is no "cấm" (banned), and typed plain
        a catalogue word is that word ("cam đường": oranges)."""
        plain_product = (
            m == 1 and marked[i] is None and (keys[i] in self.ix.post or (keys[i],) in self.lexicon.concept_index)
        )
        said = tuple(keys[i : i + m])
        if m > 1 and said[0] in _NOT_SHORT and marked[i] is None:
            said = ("khong", *said[1:])  # "ko lấy", "hok cần": không, as chat writes it
        # Typed with marks, a negation is its own letters: "dùng" (use) is no "đừng" (don't) typed without its letter
        # marks, as a product word may be.
        return any(
            self.accent_agrees(marked, i, a)
            and not (plain_product and any(a))
            and all(got is None or want is None or got == want for got, want in zip(marked[i : i + m], a, strict=False))
            for a in self.lexicon.negations.get(said, ())
        )

    def read_modifiers(self, q: QueryWords, out: ParsedQuery) -> None:
        """A product word introduced by a modifier word describes the head of the phrase, which is what is asked
        for: "kem đánh răng hương vải thiều" is toothpaste, "áo thun in hình quả vải" a T-shirt, "lychee-scented
        candles" candles. The head comes before the modifier in Vietnamese and after it in English. The product
        word (and a place right after it) then only ranks what the head finds. Not where the catalogue writes the
        words together (Mì gạo Hương Lạc), nor before a name ("… hương Vân Hà")."""
        keys, units = q.keys, out.units
        asked = [u for u in units if u.role in ("content", "soft", "common")]

        def unit_at(j: int) -> Unit | None:
            return next((u for u in asked if u.at <= j < u.at + len(u.text.split())), None)

        modifiers = self.lexicon.modifiers
        for i in range(1, len(keys) - 1):
            m = next((m for m in (2, 1) if tuple(keys[i : i + m]) in modifiers), 0)
            if not m:
                continue
            forms = [vi for accents, vi in modifiers[tuple(keys[i : i + m])] if self.accent_agrees(q.marked, i, accents)]
            if not forms:
                continue
            words: list[Unit] = []
            for j in range(i, i + m):
                u = unit_at(j)
                if u is not None and not any(u is w for w in words):
                    words.append(u)
            if any(u.at < i or u.at + len(u.text.split()) > i + m for u in words):
                continue  # part of a longer phrase the search knows
            if True in forms:  # head first: [head] hương [product], maybe with a word between ("nến thơm mùi …")
                head = unit_at(i - 1) or unit_at(i - 2)
                target = unit_at(i + m) or unit_at(i + m + 1)  # one classifier between: "in hình quả vải"
            else:  # head last: [product] scented [head]
                head = unit_at(i + m)
                target = unit_at(i - 1)
            if head is None or target is None or target.stray or head is target or any(head is w for w in words):
                continue
            span = (min(i, target.at), max(i + m, target.at + len(target.text.split())))
            if self.ix.phrase_docs(tuple(keys[span[0] : span[1]])) or q.named.has(q.toks[target.at]):
                continue
            described = [target]
            if True in forms:  # the product word's own words may go on: "hương vải thiều Lục Ngạn"
                end = target.at + len(target.text.split())
                while (more := unit_at(end)) is not None and not more.stray and more is not head:
                    described.append(more)
                    end += len(more.text.split())
            self.describe(described, out)
            for u in words:
                units.remove(u)
                asked.remove(u)

    def describe(self, described: list[Unit], out: ParsedQuery) -> None:
        """These product words describe another thing asked for: they only rank what it finds, and name no place
        or product group to filter by ("hương vải thiều Lục Ngạn", "handmade soap")."""
        for u in described:
            u.role = "optional"
            out.described.update(range(u.at, u.at + len(u.text.split())))
            key = tuple(u.text.split())
            out.places = [p for p in out.places if p.key != key]
            code = self.lexicon.categories.get(key)
            if code in out.categories:
                out.categories.remove(code)

    def read_other_goods(self, q: QueryWords, out: ParsedQuery) -> None:
        """Other goods named with a product word that describes them ("xà bông mật ong", "mặt nạ đông trùng hạ
        thảo", "honey soap", "lychee wood"): they are what is asked for, and the catalogue has none, so the product
        word only ranks (as after a modifier word) and the goods' own words must be found."""
        keys, units = q.keys, out.units

        def unit_at(j: int) -> Unit | None:
            asked = ("content", "soft", "common")
            return next((u for u in units if u.role in asked and u.at <= j < u.at + len(u.text.split())), None)

        i = 0
        while i < len(keys):
            m = next((m for m in (4, 3, 2, 1) if tuple(keys[i : i + m]) in self.other_goods), 0)
            span = tuple(keys[i : i + m])
            forms = [vi for accents, vi in self.other_goods.get(span, ()) if self.accent_agrees(q.marked, i, accents)]
            if m and span in self.compound_goods and not self.compound_at(q, i, m, out):
                forms = []
            if i in out.negated:
                forms = []  # ruled out, not asked for: "đã bỏ rượu bia"
            if not m or not forms:
                i += 1
                continue
            # Head first in Vietnamese (one word may come between: "túi lưới bao trái vải"), last in English.
            # (Not across a verb of wanting: "khách sạn cần nem nướng" is a hotel that needs them.)
            between = i + m < len(keys) and keys[i + m] in _WANTING
            near = (unit_at(i + m), None if between else unit_at(i + m + 1)) if True in forms else (unit_at(i - 1),)
            target = next(
                (
                    u
                    for u in near
                    if u is not None
                    and not u.stray
                    and (u.at >= i + m or u.at + len(u.text.split()) <= i)
                    # Not across a comma: "nấm rơm xào thịt bò, mua nấm rơm Đông Thịnh" asks for the mushrooms.
                    and not any(i < c <= u.at or u.at < c <= i for c in out.clauses)
                ),
                None,
            )
            if target is not None:
                described = [target]
                if True in forms:  # the product word's own words may go on: "mặt nạ đông trùng hạ thảo Tây Tạng",
                    end = target.at + len(target.text.split())  # and so may others joined: "xà bông mật ong với nghệ"
                    while True:
                        if end < len(keys) and keys[end] in _JOINS and unit_at(end) is None:
                            end += 1
                            continue
                        more = unit_at(end)
                        if more is None or more.stray:
                            break
                        described.append(more)
                        end += len(more.text.split())
                self.describe(described, out)
            inside = [u for u in units if u.at < i + m and u.at + len(u.text.split()) > i]
            # Goods the lexicon lists as ones people buy, with no product word of ours left asked for ("hoa tươi
            # giao ngày 20/10", "cây quất cảnh chơi Tết"): they are what is asked, whatever need comes with them.
            lacked = (span in self.lexicon.other_goods or span in self.compound_goods) and not any(
                u.role == "content" and not u.stray and u not in inside for u in units
            )
            if target is None and not (lacked and inside):
                i += m
                continue
            for u in inside:
                units.remove(u)
            alt = Alt(span, 1.0, tuple(q.marked[i : i + m]), exact=True)
            # As decisive as another place's name: the goods must be found as named ("elsewhere").
            units.append(Unit(" ".join(span), phrase_weight(m), [alt], "elsewhere", at=i, lacked=lacked))
            i += m

    def read_unlisted_goods(self, q: QueryWords, out: ParsedQuery) -> None:
        """Goods nobody listed, asked for by a word of the language right after "có" in a yes-no question or after a
        classifier of things ("có ốc vặn không", "co bong ngo ko", "cái bình vôi bằng gốm Thổ Hà", "bức hoành phi"):
        they are what is asked for, so no product word or need elsewhere in the message is the answer.

        Vietnamese puts the thing first and what describes it after, so the goods are the word right there, whatever
        product word is part of it ("bỏng ngô": popcorn, no sweet corn). Not after a product already named: then "có
        … không" asks about that product ("chả lụa Bình Minh, có xuất hóa đơn không", "giò có hàn the không")."""
        keys, marked, units = q.keys, q.marked, out.units
        # In a message written with marks, each word as written (a word typed without marks has the level tone).
        spelt = [accent_key(t.raw) for t in q.toks] if q.diacritics else keys

        def spoken(start: int, end: int) -> bool:
            return is_spoken(self.spoken, " ".join(spelt[start:end]))

        first_product = min((u.at for u in units if u.role == "content" and not u.stray), default=len(keys))
        for c in range(min(first_product, len(keys) - 2)):
            cue, i = keys[c], c + 1
            if cue in ("co", "con"):
                if marked[c] != (_HAVE if cue == "co" else _STILL) and (marked[c] is not None or q.diacritics):
                    continue
                end = min((k for k in out.clauses if k > c), default=len(keys))
                rest = keys[i + 1 : end]
                if (c and keys[c - 1] in _NOT_HAVING) or (
                    _YES_NO.isdisjoint(rest)
                    and not (cue == "con" and (_what_of(rest) or (c and keys[c - 1] in _SO)))
                ):
                    continue  # (a follow-up opening "thế còn", "vậy còn" needs no question word)
            elif cue not in _CLASSIFIERS or marked[c] != _CLASSIFIERS[cue]:
                continue
            if (c and spoken(c - 1, i)) or i in out.clauses:
                continue  # "cán bộ", "mấy cái": no classifier
            for m in (3, 2):
                if i + m > len(keys) or any(j in out.clauses for j in range(i + 1, i + m)) or not spoken(i, i + m):
                    continue
                if (i + m < len(keys) and i + m not in out.clauses and spoken(i + m - 1, i + m + 1)) or (
                    self.names_product(tuple(keys[i : i + m]))
                ):
                    continue  # cut inside another word ("xuất hóa | đơn"), or a product's words
                inside = [u for u in units if u.at < i + m and u.at + len(u.text.split()) > i]
                if not any(u.stray for u in inside) or any(
                    u.role == "content" and not u.stray and (u.at < i or u.at + len(u.text.split()) > i + m)
                    for u in inside
                ):
                    continue  # (a product word reaching past the word is the product's: "bánh | chưng")
                for u in inside:
                    units.remove(u)
                alt = Alt(tuple(keys[i : i + m]), 1.0, tuple(marked[i : i + m]), exact=True)
                units.append(Unit(" ".join(keys[i : i + m]), phrase_weight(m), [alt], "elsewhere", at=i, lacked=True))
                return

    def reached(self, u: Unit) -> set[int]:
        """The products with the unit's words, as typed or as the lexicon reads them (for reading, not ranking)."""
        found: set[int] = set()
        for alt in u.alts:
            if alt is u.alts[0] or alt.q >= LEXICON_ALT:
                found |= self.ix.phrase_docs(alt.key) if len(alt.key) > 1 else set(self.ix.post.get(alt.key[0], ()))
        return found

    def vegetarian_versions(self, q: QueryWords, out: ParsedQuery) -> None:
        """"Chay" right after a product word asks for its vegetarian version ("xúc xích chay", "nem chay", "mì chay"):
        where no product of that kind is vegetarian (its `uses`), the catalogue has none of it."""
        vegetarian = self.ix.by_use.get("vegetarian", set())
        for i, key in enumerate(q.keys):
            if key != "chay" or q.marked[i] not in (None, _MEATLESS) or i in out.clauses:
                continue
            kind = next(
                (u for u in out.units if u.role == "content" and not u.stray and u.at + len(u.text.split()) == i), None
            )
            if kind is None:
                continue
            found = self.reached(kind)
            # (Not of a product the message names by its maker too: "Cô Tiên Huyền có bánh dẻo chay không" asks it.)
            named = any(
                found & self.reached(u)
                for u in out.units
                if u is not kind and u.role in ("content", "soft") and not u.stray and not self.names_kind(u)
            )
            if found and not found & vegetarian and not named:
                out.units.remove(kind)
                span = (*kind.text.split(), "chay")
                alt = Alt(span, 1.0, tuple(q.marked[kind.at : i + 1]), exact=True)
                out.units.append(Unit(" ".join(span), phrase_weight(len(span)), [alt], "elsewhere", at=kind.at, lacked=True))
            elif found & vegetarian and not any(u.stray and u.at + len(u.text.split()) == kind.at for u in out.units):
                # Some are ("mì chay"): the word is the need, no other kind of the product. (Not where an unknown
                # word heads the phrase: "ruốc nấm chay" is mushroom floss.)
                out.units = [u for u in out.units if u.at != i]
                if "vegetarian" not in out.uses:
                    out.uses.append("vegetarian")
                    out.use_spans.append((i, i + 1))
                    out.use_phrases.append(("vegetarian", "chay"))

    def read_processes(self, q: QueryWords, out: ParsedQuery) -> None:
        """A thing, then a verb that works on a product, then the product word: the thing is a tool, a container,
        a feed or a remedy for the product ("nồi nấu bánh chưng", "lò nướng nem", "túi zip để đóng gói chè",
        "bottles for bottling rice wine"), and the product word only describes it.
        - A thing nobody listed is what is asked for, so it must be found as named (the catalogue has none). It
          must be words that could be a product's (chat and names are no things: "em tự nấu rượu", "chị Lan gói
          bánh chưng", "Việt Yên cũ nấu rượu gì").
        - A product of ours before "để" (in order to) is what is asked for: "gạo nếp để nấu rượu" is the rice."""
        keys, units = q.keys, out.units
        places = {" ".join(p.key) for p in out.places}
        ends_of_places = {u.at + len(u.text.split()) for u in units if u.role == "soft" and u.text in places}

        def unit_at(j: int) -> Unit | None:
            return next((u for u in units if u.at <= j < u.at + len(u.text.split())), None)

        def a_thing(u: Unit | None, least: float, vietnamese: bool) -> bool:
            return (
                u is not None
                and u.role == "content"
                and u.stray >= least
                and not q.named.has(q.toks[u.at])
                and u.at not in ends_of_places
                and not any(  # "đem nấu rượu": a way of giving, no thing
                    self.accent_agrees(q.marked, u.at, accents)
                    for accents in self.lexicon.giving_verbs.get((keys[u.at],), ())
                )
                and (vietnamese or not q.toks[u.at].folded.endswith("ing"))  # "planning to cook": a verb
                and keys[u.at] not in _COSTS  # "phí gửi bánh": the fee of sending, no thing
                and keys[u.at] not in ANY_GOODS  # "cần đồ để nấu súp gà": things, whatever they are
            )

        resume = 0  # past the last product word read as what a thing is for
        for i in [j for j, k in enumerate(keys) if k in self.process_heads]:
            if i < resume:
                continue
            m = next((m for m in (2, 1) if tuple(keys[i : i + m]) in self.lexicon.processes), 0)
            forms = [
                vi
                for accents, vi in self.lexicon.processes.get(tuple(keys[i : i + m]), ())
                if self.accent_agrees(q.marked, i, accents)
            ]
            if m == 1 and True in forms and q.marked[i] is None:
                forms = []  # one syllable typed plain is too often another word ("cho": chở, "trong": trồng)
            if not m or not forms:
                continue
            vietnamese = True in forms
            links = _PROCESS_LINKS if vietnamese else _PROCESS_LINKS_EN
            j = i - 1
            while j >= 0 and keys[j] in links and j + 1 not in out.clauses:
                j -= 1
            # The thing's size or number may come between ("chum sành 50 lít để ngâm rượu", "nia tre loại to để …").
            while vietnamese and j > 0 and (keys[j].isdigit() or keys[j] in _SIZES) and j not in out.clauses:
                j -= 1
            end = i + m
            # (Right after the verb, or one word on; not past "với": "nấu với nước hầm xương" cooks with a broth.)
            target = next(
                (
                    u
                    for u in (unit_at(end), None if end < len(keys) and keys[end] in _JOINS else unit_at(end + 1))
                    if u is not None and u.role == "content" and not u.stray and u.at >= end and self.names_kind(u)
                ),
                None,
            )
            if (
                j < 0
                or (not vietnamese and j == i - 1)  # in English the thing comes with "for" or "to"
                or target is None
                or any(c in out.clauses for c in range(j + 1, target.at + 1))
            ):
                continue
            m = next(
                (
                    m
                    for m in (4, 3, 2)
                    if j + 1 - m >= 0
                    and any(
                        self.accent_agrees(q.marked, j + 1 - m, accents)
                        for accents, _ in self.other_goods.get(tuple(keys[j + 1 - m : j + 1]), ())
                    )
                ),
                0,
            )
            if m:
                # Goods the lexicon lists, for the product ("máy hút chân không để đóng gói mật ong"): they are what
                # is asked for, as named.
                self.describe([target], out)
                for u in [u for u in units if j + 1 - m <= u.at <= j]:
                    units.remove(u)
                units.append(_goods_asked(q, j + 1 - m, j + 1))
                resume = target.at + len(target.text.split())
                continue
            # The thing's words, nearest first ("túi zip", "khay inox"): one of them must look like a product word.
            things: list[Unit] = []
            least = STRAY_VIETNAMESE if vietnamese else STRAY_FOREIGN
            k = j
            while (u := unit_at(k)) is not None and a_thing(u, STRAY_STOPWORD + 0.01, vietnamese) and k + 1 not in out.clauses:
                things.append(u)
                k = u.at - 1
            product = unit_at(j)
            verb = unit_at(i)
            described = [target] + ([verb] if verb is not None and verb is not target and verb not in things else [])
            if any(u.stray >= least for u in things):
                self.describe(described, out)
                for u in things:
                    units.remove(u)
                units.append(_goods_asked(q, min(u.at for u in things), j + 1))
            elif (
                vietnamese
                and "de" in keys[j + 1 : i]
                and product is not None
                and product.role == "content"
                and not product.stray
                and product is not target
                and self.names_kind(product)
            ):
                self.describe(described, out)
            resume = target.at + len(target.text.split())

    def district_named(self, q: QueryWords, i: int, m: int) -> bool:
        """Is a district's name at tokens i..i+m written as one: as a name ("Bình Liêu"), or with its own marks
        every word ("bình liêu")? Typed plain or with other marks it is more often other words ("cai nuoc": cái
        nước, no Cái Nước; "cần giò": no Cần Giờ)."""
        span = tuple(q.keys[i : i + m])
        if all(q.named.has(t) for t in q.toks[i : i + m]):
            return True
        # (A word the name writes without marks is typed so too: "ba chẽ" is Ba Chẽ.)
        return any(
            all(got == want for got, want in zip(q.marked[i : i + m], accents, strict=True))
            and any(got is not None for got in q.marked[i : i + m])
            for accents in self.elsewhere[span]
        )

    def compound_at(self, q: QueryWords, i: int, m: int, out: ParsedQuery) -> bool:
        """Is the dictionary's word at tokens i..i+m one word here: not split by a comma or a full stop ("gà,
        giò"), and its first syllable not the end of the word before ("bệnh nhân thân thiết": no "nhân thân")?"""
        if any(c in out.clauses for c in range(i + 1, i + m)):
            return False
        if tuple(q.keys[i : i + m]) in self.inner_compounds and not self.heads_its_phrase(q, i, out):
            return False
        if not any(self.spelt(q, i, accents) for accents in self.compound_goods[tuple(q.keys[i : i + m])]):
            return False
        if i == 0 or i in out.clauses:
            return True
        if q.keys[i - 1] in _CONSUMING and out.uses:
            return False  # a habit told beside a need ("uống rượu bia nhiều … mát gan"), not goods asked for
        before = self.closing_words.get((q.keys[i - 1], q.keys[i]), ())
        return not any(self.accent_agrees(q.marked, i - 1, accents) for accents in before)

    def heads_its_phrase(self, q: QueryWords, i: int, out: ParsedQuery) -> bool:
        """May a word found inside products' names begin a word of its own here ("kem xóa nếp nhăn": a wrinkle)?
        Only in a message written with marks, and with no product word before it in its clause: after one it says
        which ("mật ong rừng già", "vải tươi rói" are our honey and lychee)."""
        if not q.diacritics:
            return False
        concepts = self.lexicon.concept_index
        j = i - 1
        while j >= 0 and j + 1 not in out.clauses:
            if q.keys[j] in self.kind_heads or (q.keys[j],) in concepts:
                return False
            j -= 1
        return True

    def within_word(self, q: QueryWords, i: int, out: ParsedQuery) -> bool:
        """In a message written with marks, is word i a syllable of a word of the language that names no product,
        typed with the dictionary's marks ("mới hóa trị xong", "xuất hóa đơn", "bảo quản")? Then it is a word of
        the chat, not the producer's or the place's name that shares the syllable (Phúc Hòa, Bảo Sơn)."""
        if not q.diacritics:
            return False
        keys, marked = q.keys, q.marked
        for a in (i - 1, i):
            if a < 0 or a + 1 >= len(keys) or a + 1 in out.clauses:
                continue
            if f"{marked[a] or keys[a] + '0'} {marked[a + 1] or keys[a + 1] + '0'}" in self.chat_pairs:
                return True
        return False

    def spelt(self, q: QueryWords, i: int, accents: tuple[str, ...]) -> bool:
        """Are tokens i.. written as a word of the language with these marks? In a message written with marks, a
        word typed plain has the level tone ("rượu ngon" is no "rượu ngọn"); in one written plain, any."""
        for k, want in enumerate(accents):
            got = q.marked[i + k]
            if got is None:
                if q.diacritics and want != q.keys[i + k] + "0":
                    return False
                if k == 0 and q.keys[i] in self.chat_words:
                    return False  # typed plain, "mang" may be the verb as well ("mang lễ chay": no "măng le")
            elif not accent_fits(got, want):
                return False
        return True

    def read_origins(self, q: QueryWords, out: ParsedQuery) -> None:
        """Another country's adjective right before a product word, one word between at most ("Korean red
        ginseng", "Belgian chocolate", "Manuka honey"), or right after it in Vietnamese order ("mật ong Manuka"),
        says where the goods come from: as decisive as another place's name. Elsewhere in the message it is chat
        about people ("my Korean friend wants honey")."""
        keys, units = q.keys, out.units
        for i, key in enumerate(keys):
            if key not in self.origins:
                continue
            goods = next(
                (
                    u
                    for u in units
                    if u.role == "content"
                    and not u.stray
                    and (
                        (i < u.at <= i + 2 and not any(i < c <= u.at for c in out.clauses))
                        or (u.at + len(u.text.split()) == i and i not in out.clauses)  # "mật ong Manuka"
                    )
                ),
                None,
            )
            if goods is None:
                continue
            for u in [u for u in units if u.at == i]:
                units.remove(u)
            alt = Alt((key,), 1.0, (q.marked[i],), exact=True)
            units.append(Unit(q.toks[i].folded, 1.0, [alt], "elsewhere", at=i))

    def is_stray(self, key: str, raw: str, typed: str | None, strict: bool) -> bool:
        """Is a query word one the catalogue and the lexicon cannot place as a product word?

        Unknown words; words only the English product names use ("wife", "golden"); and words typed with a
        tone or a letter mark none of the ways the catalogue or lexicon writes them has: a tone typed is meant,
        and so is a letter mark ("mẹ" is no "mè", "giờ" no "giò", "nhân" no "nhãn"), while one left out is a
        slip ("bươi" is bưởi). With `strict` (a long message written with marks) no tone is a tone too: there
        "đau" is no "đầu", "trai" no "Trại".
        """
        if key not in self.ix.product_words or key in self.ix.english_only:
            return True
        if typed is None and not strict:
            return False
        spellings = self.ix.product_spellings.get(key)
        if not spellings:
            return False
        typed = typed or accent_key(raw)
        tone = TONE_CLASS.get(typed[-1], typed[-1])
        letters = {c for c in typed[:-1] if c in LETTER_MARKS}
        return all(
            ((strict or tone != "0") and TONE_CLASS.get(w[-1], w[-1]) != tone)
            or not letters <= set(w[:-1])
            or (strict and letters != {c for c in w[:-1] if c in LETTER_MARKS})
            for w in spellings
        )

    def after_destination_cue(self, q: QueryWords, i: int, m: int = 1) -> bool:
        """Do the words just before the place at i..i+m say where goods go ("ship ra", "gửi về", "deliver to")?

        A bare verb ("ship", "gửi") says so only when nothing but chat follows the place: "ship hn dc ko" goes
        to Hà Nội, "ship Dalat strawberries to Bac Giang" asks for Đà Lạt's strawberries. Marks typed must be
        the cue's: "hoa ban Sơn La" (a flower) is no "bạn Sơn La" (a friend there).
        """
        keys, marked = q.keys, q.marked
        cues = self.ix.lexicon.destination_cues
        if i >= 2 and keys[i - 1] in _DETERMINERS:
            i -= 1  # "in a Hanoi supermarket", "to my Hanoi office"
        cue = next(
            (tuple(keys[i - n : i]) for n in (2, 1) if i - n >= 0 and tuple(keys[i - n : i]) in cues), None
        )
        if cue is None:
            return False
        written = cues[cue]
        start = i - len(cue)
        if written and not any(
            self.accent_agrees(marked, start, a)
            and not (len(cue) == 1 and marked[start] is None and a[0] is not None and q.diacritics)
            for a in written
        ):
            return False
        if cue not in _BARE_CUES:
            return True
        after = keys[i + m : i + m + 1]
        return (
            not after
            or after[0].isdigit()
            or after[0] in _JOINS
            or any(tuple(keys[i + m : i + m + k]) in self.ix.lexicon.scaffolding for k in (1, 2, 3))
            or is_stopword(after[0], after[0])  # "ship Hà Nội trong ngày", "gửi Đà Nẵng mất mấy ngày"
        )

    @staticmethod
    def after_place(i: int, out: ParsedQuery) -> bool:
        """Does a catalogue place end right before word i, in the same clause: a route ("tuyến Bắc Giang - Lạng
        Sơn"), so the other place is where the buyer travels?"""
        if not out.units or i in out.clauses:
            return False
        last = out.units[-1]
        return (
            last.role == "soft"
            and last.at + len(last.text.split()) == i
            and any(" ".join(p.key) == last.text for p in out.places)
        )

    def visit_named(self, q: QueryWords, start: int) -> bool:
        """Is the name at `start` a visit the catalogue lists ("đi Bầu Tiên", "vé vào Bầu Tiên")? Going there is
        what is asked for."""
        end = start
        while end < len(q.toks) and q.named.has(q.toks[end]):
            end += 1
        name = tuple(q.keys[start:end])
        return len(name) >= 2 and not self.ix.phrase_docs(name).isdisjoint(self.ix.by_category.get("tourism", ()))

    def sent_to(self, keys: list[str], i: int) -> bool:
        """Is the catalogue's place at i where the goods are sent, a sending verb with its direction a few words
        before it ("gửi về nhà ở Tân Yên", "ship lên tận Sơn Động")? Then it is the buyer's home, not the goods'
        origin. (A place after "ở" alone stays the origin: "mật ong ở Sơn Động".)"""
        cues = self.ix.lexicon.destination_cues
        for start in range(max(0, i - 6), i - 1):
            cue = tuple(keys[start : start + 2])
            if cue[0] in _SENDING and cue in cues and cue not in _BARE_CUES:
                return True
        return False

    def names_kind(self, u: Unit) -> bool:
        """Does the unit name a kind of product (a product name's first word, with its marks if any were typed, as
        typed or as the lexicon reads it: "honey" → mật ong), rather than a quality some product's name has ("sớm":
        Vải sớm) or another word ("em dâu")?"""
        for alt in u.alts:
            if alt is u.alts[0] or alt.q >= LEXICON_ALT:
                written = self.kind_spellings.get(alt.key[0])
                typed = alt.accents[0] if alt.accents else None
                if written and (typed is None or any(accent_fits(typed, w) for w in written)):
                    return True
        return False

    def the_buyers_own(self, keys: list[str], out: ParsedQuery) -> None:
        """Something the catalogue has nothing of, said to be the buyer's ("khách sạn bên em", "our hotel", "quán
        cà phê của mình"), is who is buying, not what is asked for."""
        units = []
        for u in out.units:
            if u.role == "content" and not u.stray:
                end = u.at + len(u.text.split())
                after = tuple(keys[end : end + 2])
                owned = (u.at and keys[u.at - 1] in _OWNERS_BEFORE) or _OWNERS_AFTER.intersection((after[:1], after))
                if owned and not any(self.in_catalogue(a.key) for a in u.alts):
                    units.append(replace(u, weight=0.0, role="optional"))
                    continue
            units.append(u)
        out.units = units

    def superlatives(
        self, keys: list[str], marked: list[str | None], a_name: Callable[[int], bool], out: ParsedQuery
    ) -> None:
        """"Loại nào giòn nhất", "ngon nhất", "the tastiest honey": how the buyer ranks what is asked, not another
        product. "Nhất" and the word before it in Vietnamese (not the Nhật of a name, "Diệp Nhật", "Nhật Bản"),
        an English word nobody listed ending in -est, are no product words."""
        if "nhat" not in keys and "est" not in "".join(keys):
            return
        quality: set[int] = set()
        for i, k in enumerate(keys):
            if (
                k == "nhat"
                and marked[i] in (None, "nhât1")
                and i
                and keys[i - 1] not in _NHAT_NAMES
                and (i + 1 >= len(keys) or keys[i + 1] != "ban")
                and not a_name(i)  # a name: "mì Đệ Nhất"
            ):
                quality.update((i - 1, i))
        units = []
        for u in out.units:
            single = " " not in u.text
            if (single and u.at in quality and (u.stray or u.text == "nhat")) or (
                single and u.stray and u.stray < STRAY_VIETNAMESE and len(u.text) >= 5 and u.text.endswith("est")
            ):
                units.append(replace(u, weight=0.0, role="optional"))
                continue
            units.append(u)
        out.units = units

    def in_catalogue(self, key: Key) -> bool:
        """Does a product have these words, side by side?"""
        return key[0] in self.ix.post if len(key) == 1 else bool(self.ix.phrase_docs(key))

    def need_words_typed_plain(self, keys: list[str], marked: list[str | None], out: ParsedQuery) -> None:
        """A word typed plain that spells a need the message names elsewhere is that need's word, not a product
        word ("tang qua cho bac si": quà, a gift, not quả, fruit), unless the catalogue's names have it."""
        uses = self.ix.lexicon.uses
        units = []
        for u in out.units:
            key = keys[u.at] if u.role == "content" and " " not in u.text and marked[u.at] is None else None
            if (
                key is not None
                and key not in self.ix.post
                and any(code in out.uses for _accents, code in uses.get((key,), ()))
            ):
                out.use_spans.append((u.at, u.at + 1))
                continue
            units.append(u)
        out.units = units

    def use_named(self, span: Key, toks: list[Token], marks: list[str | None], marked_message: bool = False) -> str | None:
        """The use tag a need or occasion names ("quà biếu": gift, "xương khớp": joints), if `span` is one.

        A single word typed without marks that is also a common word or a product word is not taken for one:
        "qua" (through) is no "quà" (gift), "gio ga" is giò gà, not a death anniversary (giỗ). Nor is one in a
        message written with marks, where no mark means none: "đám tang" (a funeral) is no "tặng" (give).
        """
        for accents, code in self.ix.lexicon.uses.get(span, ()):
            if not self.accent_agrees(marks, 0, accents):
                continue
            if (
                len(span) == 1
                and marks[0] is None
                and any(accents)
                and (marked_message or span[0] in self.ix.post or is_stopword(toks[0].raw, span[0]))
            ):
                continue
            return code
        return None

    def concept_tone_fits(self, concept: Concept, key: Key, typed: str) -> bool:
        """Does a word typed with these marks name this concept, as far as its tone goes (see `tone_fits`)?"""
        return _tone_written(typed, [p.accents[0] for p in concept.vi if p.key == key and p.accents[0] is not None])

    def tone_fits(self, typed: str | None, key: str) -> bool:
        """Is a word typed with these marks the lexicon's word `key`, as far as its tone goes?

        A letter mark is easily slipped ("ruợu" is still rượu) and a tone forgotten ("bươi"), but a tone typed
        is meant: "mãn" (content) is no "mận".
        """
        if typed is None:
            return True
        return _tone_written(typed, [
            p.accents[0]
            for idx, _ in self.ix.lexicon.concept_index[(key,)]
            for p in self.ix.lexicon.concepts[idx].vi
            if p.key == (key,) and p.accents[0] is not None
        ])

    def concept_marks_fit(self, span: Key, marked: list[str | None], i: int) -> bool:
        """Do the marks typed on tokens i.. fit one way the lexicon writes the phrase? ("cháu dâu tương lai" is no
        "đậu tương", soybeans.)"""
        lex = self.ix.lexicon
        written = [
            p.accents
            for idx, _ in lex.concept_index[span]
            for p in (*lex.concepts[idx].vi, *lex.concepts[idx].en)
            if p.key == span
        ]
        return not written or any(self.accent_agrees(marked, i, accents) for accents in written)

    def concept_length(self, keys: list[str], i: int) -> int:
        """Length of the longest lexicon phrase (two words or more) starting at position i, else 0."""
        if keys[i] not in self.concept_heads:
            return 0
        index = self.ix.lexicon.concept_index
        for m in range(min(self.ix.lexicon.max_phrase, len(keys) - i), 1, -1):
            if tuple(keys[i : i + m]) in index:
                return m
        return 0

    def take_place(self, place: PlaceName, out: ParsedQuery) -> None:
        out.place_mentions.append(place)
        if place not in out.places:
            out.places.append(place)
        # Also product words: "Na Lục Nam" and "Mỳ Chũ" are named after their places.
        alt = Alt(place.key, 1.0, (None,) * len(place.key))
        out.units.append(Unit(" ".join(place.key), phrase_weight(len(place.key)), [alt], "soft"))
        out.words.extend(place.key)

    def take_concept(
        self, span: Key, key: Key, q: float, words: str, marks: list[str | None], out: ParsedQuery
    ) -> None:
        typed_vi = any(marks) or self.looks_vietnamese(key)
        accents = tuple(marks) if key == span else (None,) * len(key)
        alts = [Alt(key, q, accents), *self.concept_alts(key, typed_vi, q)]
        out.units.append(Unit(words, phrase_weight(len(span)), alts, "content"))
        out.words.extend(key)

    def near_phrase(self, span: Key, marks: list[str | None]) -> Key | PlaceName | None:
        """A lexicon phrase or place name that `span` spells with one word off by one letter, if just one.

        Only a word neither the catalogue nor the lexicon knows is taken for a typo: "đang" is a word, not
        a misspelt "Đông"; nor is a syllable typed with marks other than the phrase's: "vải sợi" (yarn)
        is not "vải sớm".
        """
        found: list[Key] = []
        for j, word in enumerate(span):
            if len(word) < 3 or word in self.ix.known:
                continue
            pattern = (*span[:j], "", *span[j + 1 :])
            for cand in self.phrase_holes.get(pattern, ()):
                other = cand[j]
                # In a three-letter word a different first letter is a different word ("xèo" is not "dẻo"),
                # unless the two only differ as regional spellings do.
                if len(word) == 3 and sound_key(word)[0] != sound_key(other)[0]:
                    continue
                if not self.could_be_typo(marks[j], other):
                    continue
                if OSA.distance(word, other, score_cutoff=1) <= 1 and cand not in found:
                    found.append(cand)
        if len(found) != 1:
            return None
        entry = self.ix.places.get(found[0])
        return entry[0] if entry is not None else found[0]

    def sounds_fit(self, marks: list[str | None], phrase: Key) -> bool:
        """Do the marks typed on a phrase in a regional spelling fit the phrase's words under the same rules?"""
        for typed, word in zip(marks, phrase, strict=True):
            spellings = self.ix.spellings.get(word)
            if typed is None or not spellings:
                continue
            mine = sound_accent(typed, finals=True)
            if not any(accent_fits(mine, sound_accent(w, finals=True)) for w in spellings):
                return False
        return True

    def looks_vietnamese(self, key: Key) -> bool:
        return all(k in self.ix.syllables for k in key)
