"""A buyer taking back what they first typed: "mật ong, à nhầm, rượu men lá", "Lạng Giang? Sorry, I meant Lục Nam".

What comes after the last correction is what is asked for; what came before is withdrawn, except the filters the
correction does not replace ("đồ ăn 4 sao Yên Dũng, e nhầm, 3 sao" is food of Yên Dũng with 3 stars). The markers
are found on the message's folded words, each character folded alone so that positions stay those of the text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# Markers after which the buyer says what they meant, written with their marks: a message typed with marks must
# have them ("siêu thị không," is no "thì không,"), one typed plain is read folded. "(?=…)" marks a required break
# (a comma, a full stop, a question mark or dots) right after, where the words alone are too often something else
# ("à không" ends many questions as "ạ không"; "thì thôi" may be "then never mind" of a whole question).
_MARKERS = (
    r"(?:à|ạ|e|em|tôi|sr|sorry|xin lỗi)\s+nhầm(?:\s+rồi)?",
    r"nhầm\s+rồi",
    r"ý\s+(?:em|tôi|mình|anh|chị)\s+là",
    r"à\s+(?:mà\s+)?không\s+phải",
    r"(?:à|ạ|e|em|tôi|mình|xin)\s+sửa\s+lại",
    r"(?<=[,.;!?…])\s*ý\s+là",
    r"ý\s+(?:e|t|mk|mik|tui|tớ|cháu|con)\s+là",
    r"(?:i|we)\s+meant",
    r"(?:gõ|viết)\s+lại(?=\s*[:,])",  # "bot k hiểu thì thôi, e gõ lại: …" (not "hỏi lại", asked again)
    r"(?:but\s+)?actually,?\s+(?:i|we)(?:\s+(?:just|really))?\s+(?:want|need|mean)",
    r"(?:switch|change)\s+(?:it|that|this|them|my\s+order)\s+to",
    r"(?:no|ah|oh|à)\s+wait",
    r"oops",
    r"my\s+bad",
)
# Only with their marks: typed plain they are "ạ không," (a question's end) or "thị không," ("siêu thị").
_MARKED_ONLY = (
    r"à\s+(?:mà\s+)?(?:không|ko|thôi)(?=\s*[,.!?…])",
    r"thì\s+(?:thôi|không)(?=\s*[,.!?…])",
    r"thì\s+(?:nhà\s+)?(?:có|còn)\s+(?:đủ\s+)?rồi(?=\s*[,.!?…])",  # "cao đinh lăng thì nhà có rồi, em cần …"
    # "chị đổi giúp em sang …", "em muốn đổi sang …" ("doi sang" typed plain is đợi sang, wait till; "đổi sang tiền
    # Việt" changes money)
    r"(?:muốn|xin|định)\s+(?:đổi|thay)\s+(?:sang|thành|bằng)",
    r"(?:đổi|thay)\s+(?:giúp|hộ|cho)\s+(?:em|mình|tôi|anh|chị|cháu)\s+(?:sang|thành|bằng)",
)
# A last clause taking back what it names, the goods asked for before it: "nấm bào ngư tươi, không phải nấm rơm".
_NOT_THAT = r"(?:[,.;!?…]\s*(?:chứ\s+)?|\s+chứ\s+)(?:không|ko)\s+phải\s"  # ("mứt vải chứ ko phải vải tươi")
# "không phải X mà là Y", "not X but Y", "không phải X, Y mới đúng", "ko phải 3 sao, 5 sao cơ": Y is what is asked for.
# (No upper-case escapes such as \S here: the patterns are folded to lower case for messages typed plain.)
# So do "không phải X đâu, Y", "không cần X đâu, em cần Y", "không đi X nữa, Y", "not looking for X. It's Y".
_INSTEAD = (
    r"(?:(?:không|ko) phải|not)\s.+?\s(?:mà là|but)"
    r"|(?:không|ko) phải\s[^,;.!?…]+[,;]\s*(?=[^,;.!?…]*\s(?:mới đúng|cơ)(?![\w]))"
    r"|(?:không|ko) phải\s[^,;.!?…]+?\smà(?=\s[^,;.!?…]*\s(?:mới đúng|cơ)(?![\w]))"
    # (opening the message, or its sentence, a word or two before: "A, không phải B đâu" means A, see _NOT_THAT)
    r"|(?:^|(?<=[.!?…]))\s*(?:[^\s,;.!?…]+\s+){0,2}?(?:không|ko) (?:phải|cần|lấy|mua)\s[^,;.!?…]+\sđâu\s*[,;.!?…]*"
    r"|(?:^|(?<=[.!?…]))\s*(?:[^\s,;.!?…]+\s+){0,2}?(?:không|ko) (?:cần|lấy|mua|đi)\s[^,;.!?…]+\snữa\s*[,;.!?…]+"
    r"|not\s+(?:looking\s+for|after)\s[^,;.!?…]+[.;!]\s*(?:it'?s|i\s+(?:want|need))"
    # "Không phải X, em tìm Y", "E ko hỏi X, e hỏi Y", "Không lấy X, em cần Y", "Not X, I'm after Y" opening a
    # sentence: Y is what is asked for, whether we sell it or not.
    r"|(?:^|(?<=[.!?…]))\s*(?:[^\s,;.!?…]+\s+){0,2}?(?:không|ko) (?:phải|cần|lấy|mua|hỏi)\s[^,;.!?…]+[,;.]"
    r"(?=\s*(?:[^\s,;.!?…]+\s+){0,2}?(?:cần|tìm|hỏi|muốn|lấy|mua)\s)"
    r"|(?:^|(?<=[.!?…]))\s*not\s[^,;.!?…]+[,;.](?=\s*(?:i|i'm|im|we|we're)\s)"
)


def _compiled(patterns: tuple[str, ...], fold: bool) -> re.Pattern[str]:
    body = "|".join(fold_in_place(p) if fold else p for p in patterns)
    return re.compile(r"(?<![\w])(?:" + body + r")(?![\w])")


class Correction(NamedTuple):
    before: str  # the text taken back (its filters may still hold)
    after: str  # what the buyer meant
    goods_first: bool = False  # "A, không phải B": what was meant came first, and only holds if it names goods


class _FoldTable(dict[int, str]):
    """`str.translate`'s table: each character folded alone (lower case, no marks, đ → d), worked out once."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in "đĐ":
            folded = "d"
        else:
            base = unicodedata.normalize("NFD", ch)[0].lower()
            folded = base if len(base) == 1 else " "
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold_in_place(text: str) -> str:
    """The text folded (lower case, no marks, đ → d) character by character: same length, same positions."""
    return text.translate(_FOLD)


def correction(query: str, plain: str | None = None) -> Correction | None:
    """The last correction in the message, if the buyer made one and said something after it (`plain`: the query
    already folded in place)."""
    plain = fold_in_place(query) if plain is None else plain
    if not _TRIGGER.search(plain):
        return None  # (most messages: no further regular expression run)
    marked = any(a != b for a, b in zip(plain, query.lower(), strict=True) if a.isalpha())
    text, patterns = (query.lower(), _MARKED) if marked else (plain, _PLAIN)
    ends = [(found.start(), found.end()) for found in patterns.finditer(text)]
    if not ends:
        last = next(reversed(list((_NOT_THAT_MARKED if marked else _NOT_THAT_PLAIN).finditer(text))), None)
        if last is None or not re.search(r"\w", query[: last.start()]):
            return None
        # What the last clause names is taken back; what came before it is meant.
        return Correction(
            query[last.end() :].strip(" ,.;:!?…-–—"), query[: last.start()].strip(" ,.;:!?…-–—"), goods_first=True
        )
    start, end = max(ends, key=lambda span: span[1])
    after = query[end:].strip(" ,.;:!?…-–—")
    if not re.search(r"\w", after):
        return None  # nothing said after it ("… à nhầm"): the message stands as typed
    return Correction(query[:start].strip(" ,.;:!?…-–—"), after)


# A word every marker above holds, folded: without one, there is no correction to look for.
_TRIGGER = re.compile(
    r"nham|y (?:em|toi|minh|anh|chi|e|t|mk|mik|tui|to|chau|con) la|phai|a (?:ma )?(?:khong|ko|thoi)"
    r"|thi (?:thoi|khong|nha|co|con)|meant|wait|oops|my bad|but|sua lai|y la|doi|thay|actually|switch|change"
    r"|dau|nua|not|lai|(?:khong|ko) (?:can|lay|mua|hoi)"
)
_MARKED = _compiled((*_MARKERS, *_MARKED_ONLY, _INSTEAD), fold=False)
_PLAIN = _compiled((*_MARKERS, _INSTEAD), fold=True)
_NOT_THAT_MARKED = re.compile(_NOT_THAT)
_NOT_THAT_PLAIN = re.compile(fold_in_place(_NOT_THAT))
