"""Language: telling Vietnamese from English in a message, and the user's remembered choice (/lang, buttons)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from catalog.text import clean, fold_word
from handlers import cards, intent
from handlers.context import Context
from handlers.messages import Button, Reply
from handlers.payloads import Language
from locales import LANGUAGES

# Letters only Vietnamese uses (ă đ ĩ ũ ơ ư and the tone-marked vowels of Latin Extended Additional);
# à á â è é ê ì í ò ó ô õ ù ú ý are shared with French and others, so two of those are needed.
_VI_ONLY = re.compile(r"[ăđĩũơưĂĐĨŨƠƯ\u1ea0-\u1ef9]")
_SHARED_MARKED = re.compile(r"[àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ]")

def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common Vietnamese words as typed without marks. No product words: "vai thieu" says nothing about the
# language of the person typing it.
VI_WORDS = _wordlist(
    "cho mua khong ko ban toi minh em anh chi co gi nao la cua nhieu bao nhieu oi nhe nha duoc voi va cac "
    "nhung hoi xin chao cam on dau o tai ai lam the nao sao vay roi dang muon can tim biet giup mot may "
    "sp san pham cua hang lien he gan day ve di den tu tren trong"
)
VI_PAIRS = frozenset({("o", "dau"), ("bao", "nhieu"), ("the", "nao"), ("cam", "on"), ("xin", "chao"), ("lien", "he"),
                      ("cua", "hang"), ("san", "pham"), ("gan", "day"), ("tai", "sao"), ("la", "gi")})
EN_WORDS = _wordlist(
    "where can i buy do you the what how is are to of for and please find want which who much many have does "
    "with in this that there get show tell about some any near sell products product store stores shop "
    "my me we would like could should hello hi thanks thank your it they their from here"
)
# Words in both lists that are common Vietnamese syllables typed without marks: they count for neither.
_AMBIGUOUS = frozenset({"the", "do", "to", "me", "my", "an", "in", "hi", "nam", "it"})


def _marked_vietnamese(text: str) -> bool:
    if _VI_ONLY.search(text):
        return True
    return len(_SHARED_MARKED.findall(text)) >= 2


def _count_words(text: str) -> tuple[int, int]:
    """(Vietnamese, English) function words in `text`, as typed."""
    raw = [w for w in re.findall(r"[^\W\d_]+", clean(text).lower())]
    folded = [fold_word(w) for w in raw]
    vi = en = 0
    for i, (word, f) in enumerate(zip(raw, folded, strict=True)):
        if i + 1 < len(folded) and (f, folded[i + 1]) in VI_PAIRS:
            vi += 1
        marked = f != word
        if f in VI_WORDS and (marked or f not in _AMBIGUOUS):
            vi += 1
        if not marked and word in EN_WORDS and word not in _AMBIGUOUS:
            en += 1
    return vi, en


@lru_cache(maxsize=2048)
def detect_language(text: str) -> str | None:
    """'vi' or 'en' when the message clearly is in that language, else None (product names alone are neither).
    Pure, so kept per text, as the intent's reading is (the same few questions come often)."""
    if not text or text.startswith("/"):
        return None
    text = unicodedata.normalize("NFC", text[:2000])
    vi, en = _count_words(text)
    if _marked_vietnamese(text):
        # An English sentence naming a product with its marks ("where can I buy mỳ Chũ") is still English.
        return "en" if en >= 2 and en > vi else "vi"
    if vi >= 2 and vi > en:
        return "vi"
    if en >= 2 and en > vi:
        return "en"
    return None


def language_menu(ctx: Context) -> Reply:
    t = ctx.t
    return Reply(
        t._("Choose your language:"),
        [[Button("🇻🇳 Tiếng Việt", "lang:vi"), Button("🇬🇧 English", "lang:en")], cards.menu_row(t)],
    )


def switched(ctx: Context, language: str) -> list[Reply]:
    """Remember the choice, confirm it in the new language and show the menu there."""
    ctx.set_language(language)
    t = ctx.t
    text = t._("Done: I will answer in English from now on.") if language == "en" else t._(
        "Done: I will answer in Vietnamese from now on."
    )
    return [Reply(text + "\n" + t._("What would you like to do?"), cards.main_menu(t), remove_keyboard=False)]


async def on_command(ctx: Context, rest: str = "") -> list[Reply]:
    """`/lang`, `/lang en`, `/ngonngu tiếng Việt`."""
    choice = intent.parse(rest) if rest else None
    if choice and choice.kind == intent.LANGUAGE and choice.language:
        return switched(ctx, choice.language)
    if rest.strip().lower() in LANGUAGES:
        return switched(ctx, rest.strip().lower())
    return [language_menu(ctx)]


async def on_button(ctx: Context, data: Language) -> list[Reply]:
    """`lang:vi`, `lang:en`, `lang:menu`."""
    if data.action in LANGUAGES and not data.arg:
        return switched(ctx, data.action)
    return [language_menu(ctx)]


async def on_intent(ctx: Context, asked: intent.Intent) -> list[Reply]:
    """"English please", "tiếng Việt"."""
    return switched(ctx, asked.language) if asked.language else [language_menu(ctx)]
