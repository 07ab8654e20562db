"""Answers to needs rather than products ("quà biếu tết", "gift for my boss", "đau xương khớp"), and what the
bot can honestly say when a message also asks about price, delivery or wholesale.

The search reads the need as use tags (catalog/data/uses.json) and returns a short, varied selection; this
module only words it: which need, on what basis the products were chosen, and nothing it cannot back.
"""

from __future__ import annotations

from catalog.search import SearchAnswer
from catalog.uses import use_tags
from handlers import cards
from handlers.messages import h
from locales import N_, Translator

# A short selection, not the catalogue: at most this many products answer a need.
SELECTION = 8

NEED_NAMES = {
    "gift": N_("gifts"),
    "keeps": N_("food that keeps well on a long trip"),
    "tet": N_("Tết"),
    "offering": N_("offerings at the altar (cúng, giỗ, rằm)"),
    "wedding": N_("weddings and engagements"),
    "party": N_("parties and get-togethers"),
    "vegetarian": N_("vegetarian cooking"),
    "cooking": N_("cooking a meal"),
    "awake": N_("staying awake (instead of coffee)"),
    "breakfast": N_("breakfast"),
    "brew": N_("drinks to brew with hot water"),
    "cool": N_("cold drinks to refresh"),
    "ready": N_("food ready to eat, to take along"),
    "health": N_("health and tonics"),
    "joints": N_("bones and joints"),
    "liver": N_("the liver"),
}


def needs_of(answer: SearchAnswer) -> list[str]:
    """The use tags a search answer was about, in the order the buyer named them."""
    named = answer.filters.get("use")
    codes = [named] if isinstance(named, str) else list(named or [])
    return [c for c in codes if c in NEED_NAMES]


def needs_title(t: Translator, needs: list[str]) -> str:
    """The heading of a selection for needs, with the basis it was made on (reply HTML)."""
    names = ", ".join(t._(NEED_NAMES[n]) for n in needs)
    tags = {tag.code: tag for tag in use_tags()}
    lines = [t._("Products for {need}:", need=cards.bold(names))]
    if "gift" in needs:
        lines.append(h(t._("Suggested by the kind of product (for gifts: packaged, keeps for weeks); "
                           "not a claim by the producers.")))
    elif any(tags[n].basis == "curated" for n in needs if n in tags):
        lines.append(h(t._("Suggested by the kind of product; not a claim by the producers.")))
    if any(tags[n].basis == "sourced" for n in needs if n in tags):
        lines.append(h(t._("First the products whose own description says so.")))
        if any(tags[n].groups for n in needs if n in tags):
            lines.append(h(t._("Then products of the herbal group (thảo dược); ask the producer what each is for.")))
    return "\n".join(lines)


def beyond_catalogue(asks: tuple[str, ...]) -> bool:
    """Did the message ask for what no product can be: a service or a job, a matter for the department (a
    complaint, a licence, a rating, selling one's own goods), a course, supplies (seedlings, machines,
    packaging, cosmetics), or something else of the bot (a story, a joke, a translation, the lottery)?"""
    return not {"service", "department", "supplies", "course", "offtopic"}.isdisjoint(asks)


def beyond_catalogue_note(t: Translator, asks: tuple[str, ...]) -> str:
    """The answer to a request for a service or farm supplies (reply HTML): what the bot can and cannot help with."""
    if "supplies" in asks:
        what = t._("This bot lists the OCOP certified products of Bắc Giang; it has no seedlings, fertiliser, "
                   "machines, packaging or other goods that are not OCOP products.")
    elif "department" in asks:
        what = t._("This bot lists the OCOP certified products of Bắc Giang; it cannot take complaints or handle "
                   "licences, OCOP ratings, support programmes, or products you want to sell: those are matters "
                   "for the provincial Department of Industry and Trade.")
    elif "offtopic" in asks:
        what = t._("This bot lists the OCOP certified products of Bắc Giang and where to buy them; it cannot tell "
                   "stories or jokes, translate, write poems or answer questions on other matters.")
    elif "course" in asks:
        what = t._("This bot lists the OCOP certified products of Bắc Giang; it does not know courses or classes "
                   "in making them. The producers are listed with each product.")
    else:
        what = t._("This bot lists the OCOP certified products of Bắc Giang; it does not know services such as "
                   "repairs, rentals, transport, photography or jobs.")
    return "\n".join([h(what), h(t._("Ask me about a product instead, for example “vải thiều” or “mật ong”, "
                                       "or choose from the menu."))])


def asks_notes(t: Translator, asks: tuple[str, ...]) -> list[str]:
    """What is known about the price, delivery or wholesale questions around a product (reply HTML)."""
    notes = []
    if "price" in asks:
        notes.append(t._("💰 No prices are published in this catalogue: ask the producer or a store under "
                         "“Where to buy”."))
    if "delivery" in asks:
        notes.append(t._("🚚 For delivery, ask the stores or use the online platforms under “Where to buy”."))
    if "wholesale" in asks:
        notes.append(t._("📦 Buying in quantity? Tap “Bulk enquiry” and the trade department will pass your "
                         "request to the producer."))
    return [h(n) for n in notes]
