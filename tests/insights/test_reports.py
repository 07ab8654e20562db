"""The reports over known traffic (tests/insights/traffic.py), every count worked out by hand from the chats:

A telegram vi: "cam bố hạ" (nothing), "mỳ chũ" → card → where to buy → Shopee → enquiry confirmed (claimed)
B telegram vi: "cam bo ha" (nothing), "camboha" (nothing), "vải thiều" (results, nothing opened)
C zalo vi:     "camboha" (nothing), "banhchungg" (nothing), "vải thiều" → card → contacts
D telegram en: "chocolate" (nothing), "lychee" → card → enquiry started, cancelled at the quantity
E zalo en:     "banhchungg" (nothing), "cam bo haa" (nothing)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.insights_cli import load_report
from catalog.db import Database
from tests.harness import ChatHarness
from tests.insights.traffic import replay_known_traffic


@pytest.fixture
async def known(db: Database, settings: Settings) -> tuple[dict, dict]:
    seen = await replay_known_traffic(db, settings)
    return seen, await load_report(db, "7d")


async def test_totals_and_top_lists(known: tuple[dict, dict]) -> None:
    seen, report = known
    assert seen["a"] == "my-gao-luc-ngan-hang-hieu"
    assert seen["b"] == seen["c"] == seen["d"] == "vai-thieu-hong-xuan"
    assert report["synthetic"] is False
    assert report["totals"] == {
        "events": 12 + 3 + 1 + 1 + 2 + 1 + 1 + 1,
        "chats": 5,
        "searches": 12,
        "no_match": 8,
        "abandoned_searches": 1,
        "card_views": 3,
        "where_views": 1,
        "contact_views": 1,
        "enquiries_started": 2,
        "enquiries_abandoned": 1,
        "enquiries_confirmed": 1,
        "link_taps": 1,
    }
    assert [(i["key"], i["count"], i["chats"]) for i in report["link_taps"]["overall"]] == [
        ("shopee.vn", 1, 1)
    ]
    top = report["top_searches"]
    assert [(i["key"], i["count"], i["chats"]) for i in top["overall"]] == [
        ("banhchungg", 2, 2),
        ("cam bo ha", 2, 2),
        ("camboha", 2, 2),
        ("vai thieu", 2, 2),
        ("cam bo haa", 1, 1),
        ("chocolate", 1, 1),
        ("lychee", 1, 1),
        ("my chu", 1, 1),
    ]
    assert [(i["key"], i["count"]) for i in top["by_language"]["en"]] == [
        ("banhchungg", 1),
        ("cam bo haa", 1),
        ("chocolate", 1),
        ("lychee", 1),
    ]
    assert [(i["key"], i["count"]) for i in top["by_channel"]["zalo"]] == [
        ("banhchungg", 2),
        ("cam bo haa", 1),
        ("camboha", 1),
        ("vai thieu", 1),
    ]
    assert sum(i["count"] for i in top["by_channel"]["telegram"]) == 7
    products = report["top_products"]
    assert [(i["key"], i["count"], i["chats"], i["name_vi"]) for i in products["overall"]] == [
        ("vai-thieu-hong-xuan", 2, 2, "Vải thiều Hồng Xuân Lục Ngạn"),
        ("my-gao-luc-ngan-hang-hieu", 1, 1, "Mỳ gạo Lục Ngạn Hằng Hiếu"),
    ]
    assert [(i["key"], i["count"]) for i in products["by_language"]["en"]] == [("vai-thieu-hong-xuan", 1)]
    assert [(i["key"], i["count"]) for i in products["by_channel"]["telegram"]] == [
        ("my-gao-luc-ngan-hang-hieu", 1),
        ("vai-thieu-hong-xuan", 1),
    ]


async def test_unmet_demand_groups_spelling_variants(known: tuple[dict, dict]) -> None:
    _, report = known
    missing = report["unmet"]["not_in_catalogue"]
    assert [
        (i["label"], i["variants"], i["count"], i["chats"], i["no_match"], i["abandoned"]) for i in missing
    ] == [
        # "cam bố hạ", "cam bo ha", "camboha" ×2, "cam bo haa": one line, 4 chats
        ("cam bo ha", ["cam bo ha", "camboha", "cam bo haa"], 5, 4, 5, 0),
        ("chocolate", ["chocolate"], 1, 1, 1, 0),
    ]
    near = report["unmet"]["in_catalogue_not_found"]
    assert [
        (i["variants"], i["count"], i["chats"], i["no_match"], i["abandoned"], i["near_product"]["slug"])
        for i in near
    ] == [
        (["banhchungg"], 2, 2, 2, 0, "banh-chung-van"),  # a synonym to add
        (["vai thieu"], 1, 1, 0, 1, "vai-thieu-hong-xuan"),  # found, nothing opened (B)
    ]


async def test_funnel_by_product_group(known: tuple[dict, dict]) -> None:
    _, report = known
    funnel = report["funnel"]
    assert list(funnel) == ["all", "food", "unknown"]
    steps = {g: [(s["step"], s["value"], s["conversion"]) for s in f["steps"]] for g, f in funnel.items()}
    assert steps["all"] == [
        ("search", 5, None),
        ("card", 3, 0.6),
        ("where_contact", 2, 0.6667),
        ("enquiry_started", 2, 1.0),
        ("confirmed", 1, 0.5),
        ("claimed", 1, 1.0),
        ("won", 0, 0.0),
    ]
    assert steps["food"] == [
        ("search", 4, None),
        ("card", 3, 0.75),
        ("where_contact", 2, 0.6667),
        ("enquiry_started", 2, 1.0),
        ("confirmed", 1, 0.5),
        ("claimed", 1, 1.0),
        ("won", 0, 0.0),
    ]
    assert steps["unknown"][0] == ("search", 5, None)  # every chat had a search that found nothing
    assert [s["events"] for s in funnel["all"]["steps"]] == [12, 3, 2, 2, 1, 0, 0]
    assert report["abandoned_form_steps"] == {"quantity": 1}
    assert funnel["all"]["lost"] == funnel["food"]["lost"] == 0


@pytest.mark.parametrize("outcome", ["won", "lost"])
async def test_lead_outcomes_in_the_funnel(
    known: tuple[dict, dict], db: Database, settings: Settings, outcome: str
) -> None:
    """Staff close A's claimed enquiry (food) as won or lost: the funnel's last step or the count beside it."""
    seen, _ = known
    staff = ChatHarness(db, settings, channel="telegram", chat_id="-1000", user_id="9001")
    await staff.click(f"lead:{outcome}:{seen['ref']}")
    report = await load_report(db, "7d")
    for group in ("all", "food"):
        steps = {s["step"]: (s["value"], s["conversion"]) for s in report["funnel"][group]["steps"]}
        assert steps["claimed"] == (1, 1.0)  # a closed lead was claimed first
        assert steps["won"] == ((1, 1.0) if outcome == "won" else (0, 0.0))
        assert report["funnel"][group]["lost"] == (1 if outcome == "lost" else 0)
    assert report["funnel"]["unknown"]["lost"] == 0


async def test_interest_by_district_language_and_week(known: tuple[dict, dict]) -> None:
    _, report = known
    # Both products are from Lục Ngạn: 3 cards + 1 where + 1 contacts; 4 searches found one of them first.
    assert report["by_district"] == [{"district": "Lục Ngạn", "views": 5, "searches": 4, "chats": 4}]
    assert report["by_language"] == [
        {
            "language": "en",
            "searches": 4,
            "no_match": 3,
            "views": 1,
            "enquiries_started": 1,
            "confirmed": 0,
            "chats": 2,
        },
        {
            "language": "vi",
            "searches": 8,
            "no_match": 5,
            "views": 4,
            "enquiries_started": 1,
            "confirmed": 1,
            "chats": 3,
        },
    ]
    assert len(report["weekly"]) == 1
    assert {k: v for k, v in report["weekly"][0].items() if k != "week"} == {
        "searches": 12,
        "no_match": 8,
        "views": 5,
        "confirmed": 1,
    }


async def test_the_command_prints_json_text_html_and_exports(
    known: tuple[dict, dict],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, report = known
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["insights", "--since", "7d", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["totals"] == report["totals"] and printed["unmet"] == report["unmet"]
    assert await asyncio.to_thread(main, ["insights", "--since", "2020-01-01"]) == 0
    text = capsys.readouterr().out
    assert "cam bo ha / camboha / cam bo haa  (4 chats, 5 found nothing, 0 nothing opened)" in text
    assert "banhchungg  (2 chats, 2 found nothing, 0 nothing opened)  → Bánh chưng Vân" in text
    assert "claimed 1 (100%)  →  won 0 (0%)  ·  lost 0" in text and "stopped at: quantity 1" in text
    assert "  en: banhchungg (1), cam bo haa (1), chocolate (1), lychee (1)" in text  # top searches by language
    page = tmp_path / "report.html"
    assert (
        await asyncio.to_thread(
            main, ["insights", "--html", str(page), "--lang", "en", "--export", str(tmp_path / "t.xlsx")]
        )
        == 0
    )
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 6 and "cam bo ha, camboha, cam bo haa" in html and "<script" not in html
    assert "Unmet demand" in html and "Van chung cake" in html and "store maps): shopee.vn (1)" in html
    assert "by the question they stopped at: Quantity (1)" in html  # the form's own name for the step
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "t.xlsx")
    assert book.sheetnames == [
        "top_searches",
        "top_products",
        "link_taps",
        "unmet_demand",
        "funnel",
        "form_abandoned",
        "by_district",
        "by_language",
        "weekly",
    ]
    assert [[c.value for c in row] for row in book["form_abandoned"].iter_rows()] == [
        ["step", "enquiries"],
        ["quantity", 1],
    ]
    unmet = [[c.value for c in row] for row in book["unmet_demand"].iter_rows()]
    assert unmet[1][:7] == ["not_in_catalogue", "cam bo ha", "cam bo ha | camboha | cam bo haa", 5, 4, 5, 0]
    assert await asyncio.to_thread(main, ["insights", "--since", "yesterday"]) == 2
    assert "--since takes 7d" in capsys.readouterr().err


async def test_the_export_neutralises_spreadsheet_formulas(known: tuple[dict, dict], tmp_path: Path) -> None:
    import csv

    from openpyxl import load_workbook

    from bot.insights_cli import write_export

    _, report = known
    line = report["unmet"]["not_in_catalogue"][0]
    line["label"] = '=HYPERLINK("http://example.com/x","click")'
    line["variants"] = ["+1+1", "@SUM(A1)"]
    written = write_export(report, tmp_path / "demand.csv")
    assert [p.name for p in written] == [
        "demand-top_searches.csv",
        "demand-top_products.csv",
        "demand-link_taps.csv",
        "demand-unmet_demand.csv",
        "demand-funnel.csv",
        "demand-form_abandoned.csv",
        "demand-by_district.csv",
        "demand-by_language.csv",
        "demand-weekly.csv",
    ]
    rows = list(
        csv.reader((tmp_path / "demand-unmet_demand.csv").read_text(encoding="utf-8-sig").splitlines())
    )
    assert rows[1][1] == '\'=HYPERLINK("http://example.com/x","click")' and rows[1][2] == "'+1+1 | @SUM(A1)"
    funnel = list(csv.reader((tmp_path / "demand-funnel.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert funnel[1] == ["all", "search", "5", "chats", "12", ""]
    assert ["all", "lost", "0", "leads", "0", ""] in funnel
    write_export(report, tmp_path / "demand.xlsx")
    sheet = load_workbook(tmp_path / "demand.xlsx")["unmet_demand"]
    assert sheet["B2"].value.startswith("'=") and sheet["B2"].data_type == "s"
    with pytest.raises(ValueError):
        write_export(report, tmp_path / "demand.ods")
