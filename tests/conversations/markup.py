"""Checks for what the bot sends: reply HTML within the allowed subset, and button payloads within limits."""

from __future__ import annotations

from html.parser import HTMLParser

from handlers.messages import MAX_PAYLOAD_BYTES, Reply

ALLOWED = {"b", "i", "u", "code", "a"}
ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")


class _Checker(HTMLParser):
    """Every tag allowed and balanced, `a` only with a safe href, no raw `<`, `>` or `&` left in the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            self.errors.append(f"tag <{tag}> not allowed")
        elif tag == "a":
            if len(attrs) != 1 or attrs[0][0] != "href" or not (attrs[0][1] or "").startswith(SAFE_SCHEMES):
                self.errors.append(f"bad link attributes {attrs!r}")
        elif attrs:
            self.errors.append(f"<{tag}> must have no attributes, got {attrs!r}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> does not close {self.stack[-1:] or 'anything'}")
        else:
            self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/> not allowed")

    def handle_data(self, data: str) -> None:
        for ch in "<>&":
            if ch in data:
                self.errors.append(f"unescaped {ch!r} in {data[:60]!r}")

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            self.errors.append(f"entity &{name}; not allowed")

    def handle_charref(self, name: str) -> None:
        pass

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment not allowed")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration not allowed")

    def handle_pi(self, data: str) -> None:
        self.errors.append("processing instruction not allowed")

    def unknown_decl(self, data: str) -> None:
        self.errors.append("declaration not allowed")


def markup_errors(text: str) -> list[str]:
    """Problems with `text` as reply HTML; empty when it is valid under the allowed subset."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        checker.errors.append(f"unclosed tags {checker.stack}")
    return checker.errors


def reply_errors(replies: list[Reply], max_text: int = 4096) -> list[str]:
    """Markup, size and payload problems in a batch of replies (button labels are plain text, not HTML)."""
    errors: list[str] = []
    for reply in replies:
        errors += markup_errors(reply.text)
        if len(reply.text) > max_text:
            errors.append(f"text of {len(reply.text)} characters")
        for row in [*reply.buttons, *reply.keyboard]:
            for button in row:
                if button.kind == "payload" and not 0 < len(button.payload.encode()) <= MAX_PAYLOAD_BYTES:
                    errors.append(f"payload {button.payload!r} not 1–{MAX_PAYLOAD_BYTES} bytes")
    return errors
