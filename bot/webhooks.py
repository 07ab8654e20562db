"""What both webhooks (Telegram's and Zalo's) need before they trust a body: a size cap enforced while
reading, and a nesting limit checked before any JSON parser sees it."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

MAX_DEPTH = 32  # real updates and events nest 5–6 levels


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk and refused as soon as it passes `limit` bytes, so a huge or
    endless (chunked) body never sits in memory. A declared Content-Length over the limit is refused first."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise BadBody("the client went away") from exc
    return b"".join(chunks)


def nesting_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A JSON object from a webhook body, or BadBody (not JSON, too deep, not an object)."""
    if nesting_depth(raw) > max_depth:
        raise BadBody("nested too deeply")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadBody("not JSON") from exc
    if not isinstance(value, dict):
        raise BadBody("not an object")
    return value
