"""How buyer-facing text names the department that works the leads.

Bắc Giang merged into Bắc Ninh on 1 July 2025, and no source at hand gives the merged province's trade
department's exact name. So the name is configured (OCOP_DEPARTMENT_NAME_VI / OCOP_DEPARTMENT_NAME_EN) and,
when it is not, the text names no department: "the trade department's staff".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.messages import h
from locales import Translator

if TYPE_CHECKING:
    from bot.config import Settings


def department(t: Translator, settings: Settings | None) -> str:
    """The department as the buyer reads it, HTML-escaped: the configured name in the buyer's language, or
    wording that names none."""
    name = settings.department_name(t.language) if settings is not None else None
    return h(name) if name else h(t._("the trade department's staff"))
