"""Button payloads as small typed classes, one per prefix (aiogram's CallbackData, smaller).

A payload is `<prefix>:<fields…>`, short, language-neutral and at most 64 bytes, so a button keeps working
whatever language the chat switched to and after a restart. `unpack` reads a payload of its own prefix
and returns None for a forged or stale one; the router's table maps each class to the feature that answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from handlers.messages import MAX_PAYLOAD_BYTES

MAX_PAGE_DIGITS = 4


def prefix_of(payload: str) -> str:
    return payload.partition(":")[0]


@dataclass(frozen=True, slots=True)
class CallbackData:
    """Base: `prefix` names the family; subclasses say how their fields are written after it."""

    prefix: ClassVar[str]

    def pack(self) -> str:
        text = ":".join([self.prefix, *self._fields()])
        if len(text.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload over {MAX_PAYLOAD_BYTES} bytes: {text!r}")
        return text

    def _fields(self) -> list[str]:
        raise NotImplementedError

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _SlugData(CallbackData):
    slug: str

    def _fields(self) -> list[str]:
        return [self.slug]

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        prefix, sep, slug = payload.partition(":")
        return cls(slug) if prefix == cls.prefix and sep else None


@dataclass(frozen=True, slots=True)
class ProductCard(_SlugData):
    """`p:<slug>`: open a product card."""

    prefix: ClassVar[str] = "p"


@dataclass(frozen=True, slots=True)
class WhereToBuy(_SlugData):
    """`where:<slug>`: where to buy a product."""

    prefix: ClassVar[str] = "where"


@dataclass(frozen=True, slots=True)
class ContactFor(_SlugData):
    """`contact:<slug>`: whom to contact about a product."""

    prefix: ClassVar[str] = "contact"


@dataclass(frozen=True, slots=True)
class MoreLike(_SlugData):
    """`more:<slug>`: products like this one."""

    prefix: ClassVar[str] = "more"


@dataclass(frozen=True, slots=True)
class LinkTap(CallbackData):
    """`go:<key>`: a link button that reports its tap (handlers/links.py); the key is 10 hex digits."""

    prefix: ClassVar[str] = "go"
    key: str

    def _fields(self) -> list[str]:
        return [self.key]

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        prefix, _, key = payload.partition(":")
        if prefix != cls.prefix or len(key) != 10 or not all(c in "0123456789abcdef" for c in key):
            return None
        return cls(key)


@dataclass(frozen=True, slots=True)
class ListPage(CallbackData):
    """`l:<page>`: a page of the remembered long answer."""

    prefix: ClassVar[str] = "l"
    page: int

    def _fields(self) -> list[str]:
        return [str(self.page)]

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        prefix, _, page = payload.partition(":")
        if prefix != cls.prefix or not (page.isascii() and page.isdigit()) or len(page) > MAX_PAGE_DIGITS:
            return None
        return cls(int(page))


@dataclass(frozen=True, slots=True)
class StorePage(ListPage):
    """`ws:<page>`: the stores of the last where-to-buy answer that did not fit in it."""

    prefix: ClassVar[str] = "ws"


@dataclass(frozen=True, slots=True)
class Browse(CallbackData):
    """`b:menu`, `b:c:food:2`, `b:d:<district>:0`, `b:s:4:1`, `b:x:4+:food:luc-ngan:0` (read by browse)."""

    prefix: ClassVar[str] = "b"
    parts: tuple[str, ...]

    def _fields(self) -> list[str]:
        return list(self.parts)

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        prefix, sep, rest = payload.partition(":")
        return cls(tuple(rest.split(":"))) if prefix == cls.prefix and sep else None


@dataclass(frozen=True, slots=True)
class _ActionData(CallbackData):
    action: str
    arg: str = ""

    def _fields(self) -> list[str]:
        return [self.action, self.arg] if self.arg else [self.action]

    @classmethod
    def unpack(cls, payload: str) -> Self | None:
        prefix, sep, rest = payload.partition(":")
        if prefix != cls.prefix or not sep:
            return None
        action, _, arg = rest.partition(":")
        return cls(action, arg)


@dataclass(frozen=True, slots=True)
class Menu(_ActionData):
    """`m:<item>`: the main menu and its explainers (start, help, find, where, near, contacts, count, stars, ocop)."""

    prefix: ClassVar[str] = "m"


@dataclass(frozen=True, slots=True)
class Language(_ActionData):
    """`lang:vi`, `lang:en`, `lang:menu`."""

    prefix: ClassVar[str] = "lang"


@dataclass(frozen=True, slots=True)
class Enquiry(_ActionData):
    """`enq:<action>[:<arg>]`: the wholesale enquiry form's buttons."""

    prefix: ClassVar[str] = "enq"


@dataclass(frozen=True, slots=True)
class LeadAction(_ActionData):
    """`lead:<action>:<ref>`: the staff's buttons on a lead card."""

    prefix: ClassVar[str] = "lead"


@dataclass(frozen=True, slots=True)
class CatalogUploadAction(_ActionData):
    """`cu:apply:<upload>.<sha256 prefix>`, `cu:cancel:<upload>`, `cu:undo:<version>.<applied version>`: a
    catalogue upload's buttons in the staff chat."""

    prefix: ClassVar[str] = "cu"
