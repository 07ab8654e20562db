"""The chat's memory and the wholesale enquiry form as typed, versioned records, stored as JSON.

`chat_sessions.state` holds a `ChatMemory`, `chat_sessions.last_results` the list on screen and
`chat_sessions.form` an `EnquiryForm`. Both records read what earlier versions stored (plain dicts without
a `version` key) and drop values of the wrong type instead of failing: a stored row is never trusted blindly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

MEMORY_VERSION = 3  # 2: the stores behind a where-to-buy answer's "More stores" button; 3: links behind go: buttons
FORM_VERSION = 3  # 3: each product keeps its own quantity (products[i]["quantity"])
FORM_KIND = "enquiry"


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(slots=True)
class SavedList:
    """A long answer kept to page through (`l:<page>`); `title` is reply HTML we wrote (user words escaped)."""

    slugs: list[str]
    title: str

    def to_json(self) -> dict[str, Any]:
        return {"slugs": list(self.slugs), "title": self.title}


@dataclass(slots=True)
class ErasedToday:
    """How many of today's enquiries /forget erased, so that erasing does not reset the daily limit."""

    day: str
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "count": self.count}


@dataclass(slots=True)
class ChatMemory:
    """What the bot remembers of a chat between messages, apart from its language and a form."""

    version: int = MEMORY_VERSION
    menu: str | None = None  # "find", "where" or "contact": the menu button pressed, waiting for a product name
    product: str | None = None  # the product on screen: what "it" means in the next question
    back: str | None = None  # the payload "« List" on a product card returns to
    saved_list: SavedList | None = None  # stored under "list"
    erased_today: ErasedToday | None = None
    shown: list[str] = field(default_factory=list)  # the numbered list on screen (its own column: last_results)
    stores: list[str] = field(default_factory=list)  # store slugs behind "More stores" (`ws:<page>`)
    links: dict[str, str] = field(default_factory=dict)  # `go:<key>` → the URL (handlers/links.py), oldest first

    @classmethod
    def from_json(cls, data: Any, shown: Any = None) -> ChatMemory:
        """From the stored JSON of any version (version 0: the untyped dict of earlier releases)."""
        data = data if isinstance(data, dict) else {}
        saved = data.get("list")
        erased = data.get("erased_today")
        return cls(
            menu=_opt_str(data.get("menu")),
            product=_opt_str(data.get("product")),
            back=_opt_str(data.get("back")),
            saved_list=SavedList(_strs(saved.get("slugs")), _str(saved.get("title")))
            if isinstance(saved, dict) and _strs(saved.get("slugs")) else None,
            erased_today=ErasedToday(erased["day"], erased["count"])
            if isinstance(erased, dict) and isinstance(erased.get("day"), str)
            and isinstance(erased.get("count"), int) and not isinstance(erased.get("count"), bool) else None,
            shown=_strs(shown),
            stores=_strs(data.get("stores")),
            links={k: v for k, v in data["links"].items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(data.get("links"), dict) else {},
        )

    def to_json(self) -> dict[str, Any]:
        """The `state` column (the list on screen is stored in `last_results`)."""
        out: dict[str, Any] = {"version": self.version}
        for name in ("menu", "product", "back"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.saved_list is not None:
            out["list"] = self.saved_list.to_json()
        if self.erased_today is not None:
            out["erased_today"] = self.erased_today.to_json()
        if self.stores:
            out["stores"] = list(self.stores)
        if self.links:
            out["links"] = dict(self.links)
        return out


@dataclass(slots=True)
class FormData:
    """The buyer's answers; "" is not answered (or skipped, for the optional ones)."""

    # {"slug", "name_vi", "name_en"} or {"slug": "", "text"}, each with its own canonical "quantity" once given
    products: list[dict[str, str]] = field(default_factory=list)
    # The lead's quantity: the one product's canonical ("1.5 tonne") or every product's joined ("1.5 tonne;
    # 500 kg"), "" while one is missing. Forms of version 2 or older kept one quantity shared by every product.
    quantity: str = ""
    place: str = ""
    time: str = ""
    name: str = ""
    organisation: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""
    consent: bool = False

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def set(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    @classmethod
    def from_json(cls, data: Any) -> FormData:
        data = data if isinstance(data, dict) else {}
        products = [{k: v for k, v in p.items() if isinstance(k, str) and isinstance(v, str)}
                    for p in data.get("products") or [] if isinstance(p, dict)]
        values = {f.name: _str(data.get(f.name)) for f in fields(cls) if f.name not in ("products", "consent")}
        return cls(products=products, consent=data.get("consent") is True, **values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"products": [dict(p) for p in self.products]}
        for f in fields(self):
            if f.name != "products":
                out[f.name] = getattr(self, f.name)
        return out


@dataclass(slots=True)
class EnquiryForm:
    """A wholesale enquiry in progress: the step it waits at and the answers so far."""

    step: str = "products"
    lang: str = "vi"
    data: FormData = field(default_factory=FormData)
    editing: bool = False  # answering one field from the summary: back to the summary after it
    candidates: list[str] = field(default_factory=list)  # catalogue matches offered for the typed product
    pending: str = ""  # the typed product words the candidates were offered for
    started: str = ""
    keyboard: bool = False  # the share-contact keyboard is showing
    paused: bool = False  # the buyer left it (/start, menu); kept as a draft to resume until it expires
    confirming: str = ""  # a question asked before something irreversible ("discard", "duplicate")
    version: int = FORM_VERSION
    kind: str = FORM_KIND

    @classmethod
    def from_json(cls, data: Any) -> EnquiryForm | None:
        """The stored form of any version, or None when there is none (or it is not an enquiry)."""
        if not isinstance(data, dict) or data.get("kind") != FORM_KIND:
            return None
        version = data.get("version")
        form = cls(
            step=_str(data.get("step"), "products") or "products",
            lang=_str(data.get("lang"), "vi") or "vi",
            data=FormData.from_json(data.get("data")),
            editing=data.get("editing") is True,
            candidates=_strs(data.get("candidates")),
            pending=_str(data.get("pending")),
            started=_str(data.get("started")),
            keyboard=data.get("keyboard") is True,
            paused=data.get("paused") is True,
            confirming=_str(data.get("confirming")),
        )
        if not isinstance(version, int) or version < 3:
            _migrate_to_v3(form.data)
        return form

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "version": self.version, "step": self.step, "lang": self.lang,
            "data": self.data.to_json(), "editing": self.editing, "candidates": list(self.candidates),
            "pending": self.pending, "started": self.started, "keyboard": self.keyboard, "paused": self.paused,
            "confirming": self.confirming,
        }


def _migrate_to_v3(data: FormData) -> None:
    """Version 2 kept one quantity for the whole form. With one product it becomes that product's own; with
    several it stays the shared quantity the buyer gave (it cannot be split after the fact)."""
    if data.quantity and len(data.products) == 1 and not data.products[0].get("quantity"):
        data.products[0]["quantity"] = data.quantity
