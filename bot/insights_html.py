"""The demand-insight report as one HTML page with server-rendered SVG charts (bars, funnel, weekly trend).

`render_html(report, t)` returns the page as a string and `render_body(report, t)` the part inside <body>, so the
staff web console can mount it as a page of its own; `ocop-bot insights --html FILE` writes the page. No
script, no external file: the page opens offline and prints as it shows. Every text from the data is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from handlers.enquiry import FIELD_LABELS
from locales import Translator

BAR_COLOUR = "#2f7d4f"
MISS_COLOUR = "#c0622d"
MUTED = "#6b7280"
SERIES_COLOURS = {"searches": "#2f7d4f", "views": "#2563eb", "no_match": "#c0622d", "confirmed": "#7c3aed"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:24px;color:#1f2937;
max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;
padding-bottom:4px}h3{font-size:14px;margin:14px 0 6px}
.muted{color:#6b7280;font-size:13px}.note{background:#fff7ed;border:1px solid #fdba74;padding:8px 12px;
border-radius:6px;margin:10px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{border:1px solid #e5e7eb;border-radius:8px;
padding:8px 12px;min-width:120px}.card b{display:block;font-size:20px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}td,th{border-bottom:1px solid #eee;
padding:3px 10px 3px 0;text-align:left;vertical-align:top}th{color:#374151}td.n{text-align:right}
.cols{display:flex;flex-wrap:wrap;gap:28px}.cols>div{flex:1 1 420px}
svg text{font-family:inherit}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def bar_chart(
    items: list[tuple[str, int]], *, colour: str = BAR_COLOUR, width: int = 520, title: str = ""
) -> str:
    """Horizontal bars, one per (label, value), the largest first as given."""
    if not items:
        return ""
    row, label_w, top = 22, 200, 4
    height = top + row * len(items) + 4
    biggest = max(v for _, v in items) or 1
    span = width - label_w - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}" viewBox="0 0 {width} {height}">'
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(1.0, span * value / biggest)
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">{_e(short)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" fill="{colour}" rx="2"/>'
        )
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 15}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(steps: list[tuple[str, int, float | None]], *, width: int = 620) -> str:
    """The funnel: centred bars shrinking step by step, each with its count and conversion from the step above."""
    if not steps:
        return ""
    row, top = 34, 4
    height = top + row * len(steps) + 4
    biggest = max(v for _, v, _ in steps) or 1
    label_w, span = 190, width - 190 - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for i, (label, value, rate) in enumerate(steps):
        y = top + i * row
        w = max(2.0, span * value / biggest)
        x = label_w + (span - w) / 2
        shade = 0.35 + 0.65 * (1 - i / max(1, len(steps) - 1))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 20}" font-size="12" text-anchor="end">{_e(label)}</text>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{BAR_COLOUR}" '
            f'fill-opacity="{shade:.2f}" rx="3"/>'
        )
        parts.append(
            f'<text x="{label_w + span + 8}" y="{y + 20}" font-size="12">{value}'
            f'<tspan fill="{MUTED}"> {_e(_pct(rate)) if i else ""}</tspan></text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(
    weeks: list[dict[str, Any]], series: list[tuple[str, str]], *, width: int = 620, height: int = 220
) -> str:
    """Weekly lines, one per (key, label) in `series`, with a legend."""
    if not weeks:
        return ""
    left, right, top, bottom = 40, 36, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    biggest = max([max((w.get(k, 0) for w in weeks), default=0) for k, _ in series] + [1])
    step = plot_w / max(1, len(weeks) - 1)

    def point(i: int, value: int) -> tuple[float, float]:
        return left + (i * step if len(weeks) > 1 else plot_w / 2), top + plot_h * (1 - value / biggest)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'viewBox="0 0 {width} {height}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9ca3af"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#9ca3af"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{biggest}</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" font-size="11" text-anchor="end">0</text>',
    ]
    every = max(1, len(weeks) // 8)
    for i, week in enumerate(weeks):
        if i % every == 0 or i == len(weeks) - 1:
            x, _ = point(i, 0)
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle">'
                f"{_e(week['week'])}</text>"
            )
    for n, (key, label) in enumerate(series):
        colour = SERIES_COLOURS.get(key, BAR_COLOUR)
        points = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in (point(i, w.get(key, 0)) for i, w in enumerate(weeks))
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, w in enumerate(weeks):
            x, y = point(i, w.get(key, 0))
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        lx = left + n * 150
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" font-size="11">{_e(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def step_label(t: Translator, step: str) -> str:
    return {
        "search": t._("Searched"),
        "card": t._("Opened a product card"),
        "where_contact": t._("Where to buy / contact"),
        "enquiry_started": t._("Started an enquiry"),
        "confirmed": t._("Confirmed an enquiry"),
        "claimed": t._("Claimed by staff"),
        "won": t._("Won"),
    }.get(step, step)


def form_step_label(t: Translator, step: str) -> str:
    """The enquiry form's question, named as the form's own summary names it (handlers/enquiry.py)."""
    if step == "consent":
        return t._("Consent")
    if step in FIELD_LABELS:
        return t._(FIELD_LABELS[step])
    return step


def group_label(t: Translator, group: str) -> str:
    return {
        "all": t._("All products"),
        "food": t._("Food"),
        "beverage": t._("Beverages"),
        "herbal": t._("Herbal products"),
        "textile": t._("Textiles and garments"),
        "handicraft": t._("Handicrafts and souvenirs"),
        "tourism": t._("Rural and community tourism"),
        "unknown": t._("No product"),
    }.get(group, group)


def product_label(item: dict[str, Any], language: str) -> str:
    return (
        item.get("name_en") if language == "en" and item.get("name_en") else item.get("name_vi", item["key"])
    )


def _table(head: list[str], rows: list[list[object]], numeric_from: int = 1) -> str:
    if not rows:
        return ""
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(c)}</td>' if i >= numeric_from else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def tag(name: str, text: str, cls: str = "") -> str:
    """<name class=cls>escaped text</name>."""
    attr = f' class="{cls}"' if cls else ""
    return f"<{name}{attr}>{_e(text)}</{name}>"


def render_body(report: dict[str, Any], t: Translator) -> str:
    """The report's HTML without <html>/<head>: to mount in another page (the staff console)."""
    lang = t.language
    totals = report["totals"]
    period = report["period"]
    out = [
        tag("h1", t._("OCOP Bot: what buyers ask for")),
        tag(
            "p",
            t._(
                "From {since} to {until} (UTC). Chats are counted with a key that changes every month; "
                "nothing identifies a person.",
                since=period["since"][:16].replace("T", " "),
                until=period["until"][:16].replace("T", " "),
            ),
            "muted",
        ),
    ]
    if report.get("synthetic"):
        out.append(
            tag(
                "p",
                t._(
                    "This report includes SYNTHETIC traffic from the traffic generator (channels "
                    "named synthetic-…), not real buyers."
                ),
                "note",
            )
        )
    cards = [
        (t._("Chats"), totals["chats"]),
        (t._("Searches"), totals["searches"]),
        (t._("Found nothing"), totals["no_match"]),
        (t._("Product cards opened"), totals["card_views"]),
        (t._("Enquiries started"), totals["enquiries_started"]),
        (t._("Enquiries confirmed"), totals["enquiries_confirmed"]),
    ]
    out.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{v}</b>{_e(k)}</div>' for k, v in cards)
        + "</div>"
    )

    # Top lists
    out.append(tag("h2", t._("Top searches and products")) + '<div class="cols"><div>')
    out.append(tag("h3", t._("Top searches")))
    searches = report["top_searches"]["overall"]
    out.append(bar_chart([(i["key"], i["count"]) for i in searches], title=t._("Top searches")))
    out.append("</div><div>")
    out.append(tag("h3", t._("Top products viewed")))
    products = report["top_products"]["overall"]
    out.append(
        bar_chart(
            [(product_label(i, lang), i["count"]) for i in products],
            colour="#2563eb",
            title=t._("Top products viewed"),
        )
    )
    out.append('</div></div><div class="cols">')
    viewed_word = t._("viewed")
    for facet, title in (("by_language", t._("By language")), ("by_channel", t._("By channel"))):
        out.append("<div>" + tag("h3", title))
        for value, items in report["top_searches"][facet].items():
            viewed = report["top_products"][facet].get(value, [])
            out.append(
                f"<p><b>{_e(value)}</b>: "
                + _e(", ".join(f"{i['key']} ({i['count']})" for i in items[:5]))
                + f"<br>{_e(viewed_word)}: "
                + _e(", ".join(f"{product_label(i, lang)} ({i['count']})" for i in viewed[:5]))
                + "</p>"
            )
        out.append("</div>")
    out.append("</div>")
    taps = report["link_taps"]["overall"]
    if taps:
        out.append(tag("p", t._("Links tapped (online platforms, store maps)") + ": "
                       + ", ".join(f"{i['key']} ({i['count']})" for i in taps)))

    # Unmet demand
    out.append(tag("h2", t._("Unmet demand")))
    out.append(
        tag(
            "p",
            t._(
                "Searches that found nothing, and searches whose results nobody opened, grouped when "
                "they are spellings of the same words."
            ),
            "muted",
        )
    )
    missing = report["unmet"]["not_in_catalogue"]
    near = report["unmet"]["in_catalogue_not_found"]
    out.append('<div class="cols"><div>')
    out.append(tag("h3", t._("Not in the catalogue")))
    out.append(
        bar_chart(
            [(i["label"], i["count"]) for i in missing[:TOP_CHART]],
            colour=MISS_COLOUR,
            title=t._("Not in the catalogue"),
        )
    )
    out.append(
        _table(
            [t._("Searched"), t._("Times"), t._("Chats"), t._("Found nothing"), t._("Nothing opened")],
            [
                [", ".join(i["variants"][:4]), i["count"], i["chats"], i["no_match"], i["abandoned"]]
                for i in missing[:20]
            ],
        )
    )
    out.append("</div><div>")
    out.append(tag("h3", t._("In the catalogue but not found: synonyms to add")))
    out.append(
        _table(
            [
                t._("Searched"),
                t._("Times"),
                t._("Chats"),
                t._("Found nothing"),
                t._("Nothing opened"),
                t._("Near product"),
            ],
            [
                [
                    ", ".join(i["variants"][:4]),
                    i["count"],
                    i["chats"],
                    i["no_match"],
                    i["abandoned"],
                    product_label({**i["near_product"], "key": i["near_product"]["slug"]}, lang),
                ]
                for i in near[:20]
            ],
        )
    )
    out.append("</div></div>")

    # Funnel
    out.append(tag("h2", t._("From search to enquiry")))
    out.append(
        tag(
            "p",
            t._("Chats at each step (leads for the staff's steps), and the share of the step above."),
            "muted",
        )
    )
    funnel = report["funnel"]
    if "all" in funnel:
        out.append(
            funnel_chart(
                [(step_label(t, s["step"]), s["value"], s["conversion"]) for s in funnel["all"]["steps"]]
            )
        )
    head = (
        [t._("Product group")]
        + [step_label(t, s["step"]) for s in next(iter(funnel.values()))["steps"]]
        + [t._("Lost")]
        if funnel
        else []
    )
    out.append(
        _table(
            head,
            [
                [group_label(t, g)]
                + [
                    f"{s['value']} ({_pct(s['conversion'])})" if i else s["value"]
                    for i, s in enumerate(f["steps"])
                ]
                + [f.get("lost", 0)]
                for g, f in funnel.items()
            ],
        )
    )
    if report["abandoned_form_steps"]:
        out.append(
            tag(
                "p",
                t._("Enquiries left unfinished, by the question they stopped at")
                + ": "
                + ", ".join(f"{form_step_label(t, k)} ({v})" for k, v in report["abandoned_form_steps"].items()),
            )
        )

    # Interest by district and language
    out.append(
        tag("h2", t._("Interest by district of origin and by buyer language")) + '<div class="cols"><div>'
    )
    out.append(
        bar_chart(
            [(d["district"], d["views"] + d["searches"]) for d in report["by_district"][:12]],
            title=t._("Interest by district of origin"),
        )
    )
    out.append(
        _table(
            [t._("District"), t._("Views"), t._("Searches"), t._("Chats")],
            [[d["district"], d["views"], d["searches"], d["chats"]] for d in report["by_district"]],
        )
    )
    out.append("</div><div>")
    out.append(
        _table(
            [
                t._("Language"),
                t._("Searches"),
                t._("Found nothing"),
                t._("Views"),
                t._("Enquiries started"),
                t._("Enquiries confirmed"),
                t._("Chats"),
            ],
            [
                [
                    r["language"],
                    r["searches"],
                    r["no_match"],
                    r["views"],
                    r["enquiries_started"],
                    r["confirmed"],
                    r["chats"],
                ]
                for r in report["by_language"]
            ],
        )
    )
    out.append("</div></div>")

    # Trend
    out.append(tag("h2", t._("Week by week")))
    out.append(
        trend_chart(
            report["weekly"],
            [
                ("searches", t._("Searches")),
                ("views", t._("Views")),
                ("no_match", t._("Found nothing")),
                ("confirmed", t._("Confirmed")),
            ],
        )
    )
    return "\n".join(part for part in out if part)


TOP_CHART = 10


def render_html(report: dict[str, Any], t: Translator) -> str:
    """The whole page."""
    title = _e(t._("OCOP Bot: what buyers ask for"))
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(t.language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>\n{render_body(report, t)}\n</body></html>\n"
    )
