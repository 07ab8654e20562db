"""Parsing and checking what a wholesale buyer types: quantities with units, phone numbers, e-mail addresses."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from catalog.text import clean, fold

MAX_AMOUNT = Decimal(10_000_000)
MAX_QUANTITY_CHARS = 100
MAX_UNIT_CHARS = 30
MAX_QUANTITY_NOTE_CHARS = 60
MAX_PHONE_CHARS = 30
MAX_EMAIL_CHARS = 200

# Normalised unit → the words buyers use for it, written as they type them (lowercase, NFC).
UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "tonne": ("tấn", "t", "tonne", "tonnes", "ton", "tons", "mt"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilôgam", "kí", "ký", "ki", "ky", "cân",
           "ki lô", "kí lô", "ki lo", "ky lo"),
    "g": ("g", "gr", "gam", "gram", "grams", "gramme", "grammes"),
    "litre": ("l", "lít", "lit", "litre", "litres", "liter", "liters"),
    "carton": ("thùng", "thung", "carton", "cartons", "case", "cases", "crate", "crates"),
    "box": ("hộp", "hop", "box", "boxes"),
    "bottle": ("chai", "bình", "binh", "bottle", "bottles"),
    "jar": ("hũ", "hủ", "lọ", "hu", "lo", "jar", "jars"),
    "pack": ("gói", "goi", "túi", "tui", "pack", "packs", "packet", "packets", "bag", "bags"),
    "sack": ("bao", "sack", "sacks"),
    "head": ("con", "head", "heads", "animal", "animals"),
    "piece": ("cái", "chiếc", "quả", "trái", "cai", "chiec", "qua", "trai", "piece", "pieces", "pcs", "pc",
              "unit", "units", "item", "items", "fruit", "fruits"),
    "set": ("bộ", "set", "sets"),
    "container": ("container", "containers", "cont", "công-te-nơ", "côngtenơ"),
}
# Traditional Vietnamese weights, turned into kilograms so staff compare like with like.
KG_MULTIPLES: dict[str, int] = {"tạ": 100, "ta": 100, "yến": 10, "yen": 10}
# "2 nghìn hộp", "3k chai", "1 triệu quả".
NUMBER_WORDS: dict[str, int] = {
    "nghìn": 1000, "ngàn": 1000, "nghin": 1000, "ngan": 1000, "k": 1000, "thousand": 1000,
    "triệu": 1_000_000, "trieu": 1_000_000, "million": 1_000_000, "millions": 1_000_000,
}
HALF_WORDS = ("rưỡi", "ruoi", "and a half")
_UNIT_BY_WORD = {word: unit for unit, words in UNIT_WORDS.items() for word in words}

_NUMBER = r"\d+(?:[.,]\d+)*"
_RANGE_JOIN = r"\s*(?:-|–|—|~|đến|den|tới|toi|to)\s*"
_QUANTITY = re.compile(rf"(?P<low>{_NUMBER})(?:{_RANGE_JOIN}(?P<high>{_NUMBER}))?\s*(?P<rest>.*)$", re.S)
_UNIT_TEXT = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+){0,2}", re.U)


class QuantityProblem(StrEnum):
    """Why a quantity was not accepted; the handler explains each one to the buyer."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_NUMBER = "no_number"
    NO_UNIT = "no_unit"
    NOT_POSITIVE = "not_positive"
    TOO_LARGE = "too_large"
    BAD_RANGE = "bad_range"


class QuantityError(ValueError):
    def __init__(self, problem: QuantityProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Quantity:
    """An amount (or range) with a normalised unit key (`tonne`, `kg`…) or the buyer's own unit word."""

    amount: Decimal
    unit: str
    amount_max: Decimal | None = None
    note: str = ""

    @property
    def known_unit(self) -> bool:
        return self.unit in UNIT_WORDS

    def canonical(self) -> str:
        """Language-neutral form stored on the lead: `1.5 tonne`, `2-3 carton (mỗi tháng)`."""
        text = _plain_number(self.amount)
        if self.amount_max is not None:
            text += "-" + _plain_number(self.amount_max)
        text += " " + self.unit
        if self.note:
            text += f" ({self.note})"
        return text


_CANONICAL = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))? (.+?)(?: \((.*)\))?$", re.S)


def quantity_from_canonical(text: str) -> Quantity | None:
    """Read back what `Quantity.canonical` stored; None for anything else (shown as written)."""
    match = _CANONICAL.match(text or "")
    if not match:
        return None
    high = Decimal(match.group(2)) if match.group(2) else None
    return Quantity(Decimal(match.group(1)), match.group(3), high, match.group(4) or "")


def _plain_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_number(text: str, language: str = "vi") -> Decimal:
    """'1,5' → 1.5 and '1.000' → 1000 in Vietnamese; '1.5' → 1.5 and '1,000' → 1000 in English.

    With both separators the last one is the decimal mark; a single separator followed by other than
    three digits is always decimal; a lone group of exactly three digits follows the language's habit.
    """
    text = text.strip()
    if not re.fullmatch(_NUMBER, text):
        raise InvalidOperation(text)
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        if text.count(decimal_mark) > 1:
            raise InvalidOperation(text)
        return Decimal(text.replace(thousands, "").replace(decimal_mark, "."))
    mark = "," if commas else "." if dots else ""
    if not mark:
        return Decimal(text)
    groups = text.split(mark)
    if len(groups) > 2:
        if any(len(g) != 3 for g in groups[1:]):
            raise InvalidOperation(text)
        return Decimal("".join(groups))
    if len(groups[1]) != 3:
        return Decimal(groups[0] + "." + groups[1])
    vietnamese_decimal = language == "vi" and mark == ","
    english_decimal = language != "vi" and mark == "."
    if vietnamese_decimal or english_decimal:
        return Decimal(groups[0] + "." + groups[1])
    return Decimal("".join(groups))


def _match_unit(rest: str) -> tuple[str, int, int]:
    """(unit key or the buyer's own word, kg multiplier, characters used) for the text after a number."""
    lowered = rest.lower()
    words = lowered.split()
    # Longest phrase first, so "and a half" or "ki lô" are not cut short.
    for size in (2, 1):
        if len(words) < size:
            continue
        phrase = " ".join(words[:size])
        phrase = phrase.rstrip(".,;:")
        used = lowered.find(words[size - 1]) + len(words[size - 1])
        if phrase in KG_MULTIPLES:
            return "kg", KG_MULTIPLES[phrase], used
        for candidate in (phrase, fold(phrase)):
            if candidate in _UNIT_BY_WORD:
                return _UNIT_BY_WORD[candidate], 1, used
    match = _UNIT_TEXT.match(rest)
    if not match:
        return "", 1, 0
    own = match.group(0).strip()
    for stop in (" per ", " mỗi ", " moi ", " một ", " a ", " each "):
        own = own.split(stop)[0]
    return own.lower()[:MAX_UNIT_CHARS], 1, len(own)


def parse_quantity(text: str, language: str = "vi") -> Quantity:
    """'2 tấn', '500kg', '1,5 tấn', '300 thùng', '200 con', '2 tonnes', '2-3 tấn mỗi tháng' → Quantity.

    Raises QuantityError naming the problem. Words before the number ('khoảng', 'about') are ignored;
    words after the unit are kept as a short note ('mỗi tháng').
    """
    text = clean(text)
    if not text:
        raise QuantityError(QuantityProblem.EMPTY)
    if len(text) > MAX_QUANTITY_CHARS:
        raise QuantityError(QuantityProblem.TOO_LONG)
    if text.lstrip().startswith("-"):
        raise QuantityError(QuantityProblem.NOT_POSITIVE)
    start = re.search(r"\d", text)
    if start is None:
        raise QuantityError(QuantityProblem.NO_NUMBER)
    match = _QUANTITY.match(text, start.start())
    assert match is not None
    try:
        low = parse_number(match.group("low"), language)
        high = parse_number(match.group("high"), language) if match.group("high") else None
    except InvalidOperation:
        raise QuantityError(QuantityProblem.NO_NUMBER) from None
    rest = match.group("rest").strip()
    multiplier, rest = _number_word(rest)
    unit, kg_multiple, used = _match_unit(rest)
    if not unit:
        raise QuantityError(QuantityProblem.NO_UNIT)
    rest = rest[used:].strip(" .,;:")
    folded_rest = fold(rest)
    for half in HALF_WORDS:
        if high is None and (rest.lower().startswith(half) or folded_rest.startswith(fold(half))):
            low += Decimal("0.5")
            rest = rest[len(half):].strip(" .,;:")
            break
    factor = multiplier * kg_multiple
    low *= factor
    high = high * factor if high is not None else None
    if low <= 0 or (high is not None and high <= 0):
        raise QuantityError(QuantityProblem.NOT_POSITIVE)
    if low > MAX_AMOUNT or (high is not None and high > MAX_AMOUNT):
        raise QuantityError(QuantityProblem.TOO_LARGE)
    if high is not None and high <= low:
        raise QuantityError(QuantityProblem.BAD_RANGE)
    note = rest[:MAX_QUANTITY_NOTE_CHARS].strip()
    return Quantity(low.quantize(Decimal("0.001")).normalize(), unit,
                    high.quantize(Decimal("0.001")).normalize() if high is not None else None, note)


def _number_word(rest: str) -> tuple[int, str]:
    """'nghìn hộp' → (1000, 'hộp'); anything else unchanged."""
    head, _, tail = rest.partition(" ")
    key = head.lower()
    if key in NUMBER_WORDS:
        return NUMBER_WORDS[key], tail.strip()
    return 1, rest


def parse_phone(text: str, region: str = "VN") -> str | None:
    """A valid phone number in E.164 (`+84912345678`), Vietnamese by default, international accepted."""
    raw = clean(text)
    if not raw or len(raw) > MAX_PHONE_CHARS or not re.fullmatch(r"[0-9+().\-\s/]+", raw):
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    candidates = [raw]
    digits = re.sub(r"\D", "", raw)
    if not raw.startswith("+") and digits.startswith("84") and len(digits) >= 11:
        candidates.append("+" + digits)  # "84912345678": the country code typed without its plus
    import phonenumbers  # 58 modules: loaded by the first phone number, not by every start

    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def display_phone(e164: str) -> str:
    """'+84912345678' → '+84 912 345 678' for people to read (stored numbers are E.164)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def parse_email(text: str) -> str | None:
    """A plausible e-mail address (syntax only; we never send mail to it), lower-cased domain."""
    raw = unicodedata.normalize("NFC", (text or "").strip())
    if not raw or len(raw) > MAX_EMAIL_CHARS or raw.count("@") != 1 or any(c.isspace() for c in raw):
        return None
    local, domain = raw.split("@")
    if not local or len(local) > 64 or not _LOCAL_PART.match(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return None
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}", labels[-1]):
        return None
    return f"{local}@{domain.lower()}"


# --- time frames ("tháng 3/2027", "15/1/2027", "June 2027", "tuần sau", "mùa vải") -------------------------

class TimeProblem(StrEnum):
    PAST = "past"
    TOO_FAR = "too_far"
    MEANINGLESS = "meaningless"
    BAD_DATE = "bad_date"


MONTHS_EN = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
MONTHS_EN |= {name[:3]: i for name, i in list(MONTHS_EN.items())} | {"sept": 9}
MAX_YEARS_AHEAD = 3
_DATE = re.compile(r"\b(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2,4}))?\b")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\b")
_MONTH_YEAR = re.compile(r"\bthang\s+(\d{1,2})(?:\s*(?:/|nam|-)\s*(\d{4}))?\b")
_QUARTER = re.compile(r"\b(?:quy|q)\s*([1-4])(?:\s*(?:/|nam|-)?\s*(\d{4}))?\b")
_SHORT_MONTH_YEAR = re.compile(r"\b(\d{1,2})\s*[/.-]\s*(\d{4})\b")
_YEAR = re.compile(r"\b(20\d{2}|19\d{2})\b")

# Spelled-out counts in relative periods ("trong hai tuần", "in three weeks").
_COUNTS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9, "muoi": 10,
           "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "few": 2, "couple": 2, "couple of": 2}
_COUNT = r"(\d{1,3}|" + "|".join(sorted(map(re.escape, _COUNTS), key=len, reverse=True)) + ")"
_UNIT_DAYS = {"ngay": 1, "day": 1, "days": 1, "tuan": 7, "week": 7, "weeks": 7}
_UNIT_MONTHS = {"thang": 1, "month": 1, "months": 1, "nam": 12, "year": 12, "years": 12}
_UNIT = r"(ngay|tuan|thang|nam|days?|weeks?|months?|years?)"

# A time already past, however it is worded: refused like a past date ("hôm qua", "tháng trước", "last year").
_PAST = re.compile(
    r"\b(?:hom qua|hom kia|tuan truoc|thang truoc|nam truoc|nam ngoai|nam roi|thang roi|tuan roi|yesterday|"
    r"last (?:week|month|year|season|quarter|spring|summer|autumn|fall|winter)|"
    rf"{_COUNT} {_UNIT} (?:truoc|ago))\b"
)
# Ways to say when, without a date: a relative period (resolved to a date or month below), a part of the year,
# a season or a holiday, or how urgent or flexible. Words of these alone ("day", "sau", "the end") name no time.
_RELATIVE = re.compile(
    rf"\b(?:(?:trong|khoang|trong vong|in|within|after|sau) (?:about )?{_COUNT} {_UNIT}|"
    rf"{_COUNT} {_UNIT} (?:nua|toi|sau|from now|later|time))\b"
)
_NAMED = re.compile(
    r"\b(?:(?:in|within) (?:a few|a couple of) (?:days|weeks|months)|ngay mai|mai|ngay kia|hom nay|toi nay|today|tomorrow|tonight|day after tomorrow|"
    r"(?:tuan|thang|nam|quy) (?:sau|toi|nay|nua)|(?:next|this|coming) (?:week|month|year|quarter)|"
    r"(?:cuoi|dau|giua) (?:tuan|thang|nam|quy|mua)(?: (?:sau|toi|nay))?|"
    r"(?:end|beginning|start|middle) of (?:the |this |next )?(?:week|month|year|quarter|season)|year end|"
    r"mua (?:xuan|he|ha|thu|dong|vai|thu hoach|tet|cuoi|nay|toi|sau)|vu (?:vai|thu hoach|nay|toi|sau|moi)|"
    r"(?:next |this |coming )?(?:spring|summer|autumn|fall|winter|harvest|lychee season|season)|"
    r"tet|truoc tet|sau tet|trung thu|mid autumn|lunar new year|new year|christmas|"
    r"asap|as soon as possible|soon|urgent|urgently|immediately|right away|now|ngay lap tuc|gap|"
    r"cang som cang tot|som nhat|som|cang nhanh cang tot|flexible|linh hoat|anytime|any time|no rush|"
    r"khong gap|luc nao cung duoc|bat ky luc nao|bat cu luc nao|khi nao cung duoc|hang thang|hang tuan|"
    r"monthly|weekly|every month|every week|regularly|dinh ky|lau dai|long term)\b"
)


class TimeFrameError(ValueError):
    def __init__(self, problem: TimeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _check_month(year: int, month: int, today: dt.date) -> None:
    if not 1 <= month <= 12:
        raise TimeFrameError(TimeProblem.BAD_DATE)
    if (year, month) < (today.year, today.month):
        raise TimeFrameError(TimeProblem.PAST)
    if year > today.year + MAX_YEARS_AHEAD:
        raise TimeFrameError(TimeProblem.TOO_FAR)


def _next_year_for(month: int, today: dt.date) -> int:
    """A month named without a year: this year's, or next year's once this year's has passed."""
    return today.year if month >= today.month else today.year + 1


def _month_label(year: int, month: int, language: str) -> str:
    return f"tháng {month}/{year}" if language == "vi" else dt.date(year, month, 1).strftime("%B %Y")


def _date_label(day: dt.date, language: str) -> str:
    return f"{day.day}/{day.month}/{day.year}" if language == "vi" else f"{day.day} {day.strftime('%b %Y')}"


def _add_months(today: dt.date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def _resolved(folded: str, today: dt.date, language: str) -> str:
    """A relative period as the date or month it means today ("tháng sau" → "tháng 1/2027"), or ""."""
    if (m := _RELATIVE.search(folded)) is not None:
        count_word = m.group(1) or m.group(3)
        unit = m.group(2) or m.group(4)
        count = int(count_word) if count_word.isdigit() else _COUNTS[count_word]
        if unit in _UNIT_DAYS:
            return _date_label(today + dt.timedelta(days=count * _UNIT_DAYS[unit]), language)
        return _month_label(*_add_months(today, count * _UNIT_MONTHS[unit]), language)
    if re.search(r"\b(?:ngay mai|mai|tomorrow)\b", folded):
        return _date_label(today + dt.timedelta(days=1), language)
    if re.search(r"\b(?:ngay kia|day after tomorrow)\b", folded):
        return _date_label(today + dt.timedelta(days=2), language)
    if re.search(r"\b(?:tuan (?:sau|toi)|next week|coming week)\b", folded):
        monday = today + dt.timedelta(days=7 - today.weekday())
        return ("tuần từ " if language == "vi" else "week of ") + _date_label(monday, language)
    if re.search(r"\b(?:thang (?:sau|toi)|next month|coming month)\b", folded):
        return _month_label(*_add_months(today, 1), language)
    if re.search(r"\b(?:thang nay|this month)\b", folded):
        return _month_label(today.year, today.month, language)
    if re.search(r"\b(?:nam (?:sau|toi)|next year|coming year)\b", folded):
        return str(today.year + 1)
    return ""


def _with(value: str, resolved: str) -> str:
    return f"{value} ({resolved})" if resolved and resolved.casefold() not in value.casefold() else value


def parse_time_frame(text: str, today: dt.date, language: str = "vi") -> str:
    """The time frame as written (cleaned) when it names a date, month, quarter, season or period that has not
    passed, with the month or date a relative one means today in brackets ("tháng sau (tháng 1/2027)", a month
    without its year: "tháng 3 (tháng 3/2027)"); raises TimeFrameError for a past or far-off date (also worded:
    "tháng trước", "last year"), an impossible one, or words that name no time ("abc", "day", "the end")."""
    value = clean(text)
    folded = _unmarked(value)
    if (m := _ISO.search(folded)) is not None:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        _check_date(year, month, day, today) if day else _check_month(year, month, today)
        return value
    if (m := _MONTH_YEAR.search(folded)) is not None:
        month = int(m.group(1))
        year = int(m.group(2)) if m.group(2) else _next_year_for(month, today) if 1 <= month <= 12 else today.year
        _check_month(year, month, today)
        return value if m.group(2) else _with(value, _month_label(year, month, language))
    if (m := _QUARTER.search(folded)) is not None:
        quarter = int(m.group(1))
        year = int(m.group(2)) if m.group(2) else today.year if quarter * 3 >= today.month else today.year + 1
        _check_month(year, quarter * 3, today)
        return value if m.group(2) else _with(value, str(year))
    if (m := _DATE.search(folded)) is not None:
        a, b, c = int(m.group(1)), int(m.group(2)), m.group(3)
        if c is None and b > 12 and 1 <= a <= 12:
            raise TimeFrameError(TimeProblem.BAD_DATE)
        if c is None:  # "15/1": a day and month, the next one to come
            year = today.year if (b, a) >= (today.month, today.day) else today.year + 1
            _check_date(year, b, a, today)
            return _with(value, _date_label(dt.date(year, b, a), language))
        _check_date(2000 + int(c) if len(c) == 2 else int(c), b, a, today)
        return value
    if (m := _SHORT_MONTH_YEAR.search(folded)) is not None:  # "6/2027"
        _check_month(int(m.group(2)), int(m.group(1)), today)
        return value
    words = fold(value).split()
    spaced = " ".join(words)
    for word in words:
        if word in MONTHS_EN and (word not in ("may", "mar") or len(words) <= 3):
            year_match = _YEAR.search(folded)
            month = MONTHS_EN[word]
            year = int(year_match.group(1)) if year_match else _next_year_for(month, today)
            _check_month(year, month, today)
            return value if year_match else _with(value, _month_label(year, month, language))
    if (m := _YEAR.search(folded)) is not None:
        year = int(m.group(1))
        if year < today.year:
            raise TimeFrameError(TimeProblem.PAST)
        if year > today.year + MAX_YEARS_AHEAD:
            raise TimeFrameError(TimeProblem.TOO_FAR)
        return value
    if _PAST.search(spaced):
        raise TimeFrameError(TimeProblem.PAST)
    # "ngay" (at once) typed as such; "ngày" (day) alone names no time.
    at_once = re.search(r"(?<!\w)ngay(?!\w)", value.lower()) is not None
    if _RELATIVE.search(spaced) or _NAMED.search(spaced) or at_once:
        return _with(value, _resolved(spaced, today, language))
    raise TimeFrameError(TimeProblem.MEANINGLESS)


def _unmarked(text: str) -> str:
    """Lowercase without marks ("tháng 1/2020" → "thang 1/2020"), punctuation kept (fold drops it)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _check_date(year: int, month: int, day: int, today: dt.date) -> None:
    try:
        when = dt.date(year, month, day)
    except ValueError:
        raise TimeFrameError(TimeProblem.BAD_DATE) from None
    if when < today:
        raise TimeFrameError(TimeProblem.PAST)
    if year > today.year + MAX_YEARS_AHEAD:
        raise TimeFrameError(TimeProblem.TOO_FAR)


def example_month(today: dt.date, months_ahead: int = 2) -> dt.date:
    """A month a little ahead of today, for the time-frame question's example (never a stale one)."""
    index = today.year * 12 + today.month - 1 + months_ahead
    return dt.date(index // 12, index % 12 + 1, 1)


# --- several products in one answer: "1,5 tấn vải và 500 kg mỳ"

# Between two amounts: ";", "+", "&", a new line, a comma that is not a decimal mark, "và", "and"
# (not "and a half").
_PIECE_JOIN = re.compile(r"\s*(?:;|\+|&|\n|,(?!\d)|\b(?:và|va|cùng|and|plus)\b(?!\s+a\s+half))\s*", re.I)
# Words that join an amount to a product's name and name nothing themselves (folded).
_JOINING_WORDS = frozenset({"of", "for", "cua", "loai", "hang", "san", "pham", "the"})


@dataclass(frozen=True, slots=True)
class QuantityPiece:
    """One amount of a longer answer and the words written around it (perhaps a product's name)."""

    quantity: Quantity
    words: str


def name_words(text: str) -> frozenset[str]:
    """The folded words of a product's names that can tell it apart (two letters or more)."""
    return frozenset(w for w in re.findall(r"\w+", fold(text)) if len(w) >= 2 and not w.isdigit()) - _JOINING_WORDS


def split_quantities(text: str, language: str = "vi") -> list[QuantityPiece]:
    """'1,5 tấn vải và 500 kg mỳ' → [1.5 tonne · 'vải', 500 kg · 'mỳ']; one piece for a single amount.

    Words before or after an amount stay with it; a part without a number joins the amount before it.
    Raises QuantityError (of the first piece that fails) like `parse_quantity`.
    """
    text = clean(text)
    if not text:
        raise QuantityError(QuantityProblem.EMPTY)
    if len(text) > MAX_QUANTITY_CHARS:
        raise QuantityError(QuantityProblem.TOO_LONG)
    pieces: list[str] = []
    for part in _PIECE_JOIN.split(text):
        part = part.strip()
        if not part:
            continue
        if pieces and not re.search(r"\d", part):
            pieces[-1] += " " + part
        elif pieces and not re.search(r"\d", pieces[-1]):
            pieces[-1] += " " + part  # "vải thiều, 2 tấn": the name comes first
        else:
            pieces.append(part)
    out: list[QuantityPiece] = []
    for piece in pieces or [text]:
        start = re.search(r"\d", piece)
        quantity = parse_quantity(piece, language)
        before = piece[:start.start()].strip() if start else ""
        out.append(QuantityPiece(quantity, " ".join(w for w in (before, quantity.note) if w)))
    return out


def named_product(words: str, names: list[frozenset[str]]) -> int | None:
    """The one product (index into `names`, from `name_words`) the words name best, or None (none or a tie)."""
    wanted = name_words(words)
    if not wanted:
        return None
    scores = [len(wanted & name) for name in names]
    best = max(scores, default=0)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def without_name(quantity: Quantity, name: frozenset[str]) -> Quantity:
    """The quantity without the product's name (and joining words) in its note: '500 kg mỳ' → '500 kg'."""
    kept = [w for w in quantity.note.split() if fold(w).strip(".,;:") not in name | _JOINING_WORDS]
    return Quantity(quantity.amount, quantity.unit, quantity.amount_max, " ".join(kept))
