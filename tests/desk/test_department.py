"""How the buyer's text names the department: OCOP_DEPARTMENT_NAME_VI / _EN when set, otherwise wording that
names no department (Bắc Giang merged into Bắc Ninh on 1 July 2025; the new department's name has no source)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.doctor import cmd_doctor
from catalog import deadlines
from catalog.db import Database
from catalog.models import Lead
from handlers.staff import staff_reply_text
from tests.desk.console_helpers import ALWAYS_OPEN
from tests.harness import ChatHarness
from tests.leads.helpers import ANSWERS, pick_first_product


async def consent_and_confirmation(db: Database, settings: Settings, lang: str, user: str) -> tuple[str, str]:
    """The consent question and the confirmation a buyer reads, filling the form through the chat core."""
    async with db.session() as session:
        await deadlines.save_hours(session, ALWAYS_OPEN)
    buyer = ChatHarness(db, settings, channel="telegram", chat_id=user, user_id=user, language_hint=lang)
    answers = ANSWERS[lang]
    await buyer.click("enq:start")
    await pick_first_product(buyer, await buyer.send(answers["product"]))
    await buyer.send(answers["quantity"])
    await buyer.send(answers["place"])
    await buyer.click("enq:tf:within_month")
    await buyer.send(answers["name"])
    for step in ("organisation", "phone", "email"):
        await buyer.send(answers[step])
    consent = ChatHarness.text(await buyer.send(answers["notes"]))
    await buyer.click("enq:consent:yes")
    replies = await buyer.click("enq:confirm")
    if "enq:confirm:again" in ChatHarness.payloads(replies):
        replies = await buyer.click("enq:confirm:again")
    return consent, ChatHarness.text(replies)


async def test_unset_the_buyer_reads_no_department_name_in_either_language(db: Database, settings: Settings) -> None:
    consent, confirmed = await consent_and_confirmation(db, settings, "en", "6001")
    assert "may we share these details with the trade department's staff so they can contact you" in consent
    assert "has been sent to the trade department's staff." in confirmed
    consent, confirmed = await consent_and_confirmation(db, settings, "vi", "6002")
    assert "chuyển các thông tin này cho cán bộ phụ trách xúc tiến thương mại để liên hệ" in consent
    assert "đã được gửi tới cán bộ phụ trách xúc tiến thương mại." in confirmed
    for text in (consent, confirmed):
        assert "Sở Công Thương" not in text and "Bắc Giang" not in text


async def test_a_configured_name_is_used_in_the_buyers_language_and_escaped(db: Database, settings: Settings) -> None:
    named = settings.model_copy(update={"department_name_vi": "Sở Thử Nghiệm <A&B>",
                                        "department_name_en": "Test Department <A&B>"})
    consent, confirmed = await consent_and_confirmation(db, named, "en", "6003")
    # ChatHarness.text reads the HTML as the buyer sees it: an unescaped "<A&B>" would not survive it
    assert "share these details with Test Department <A&B> so they" in consent
    assert "has been sent to Test Department <A&B>." in confirmed
    _, confirmed = await consent_and_confirmation(db, named, "vi", "6004")
    assert "đã được gửi tới Sở Thử Nghiệm <A&B>." in confirmed
    lead = Lead(ref="BG-2026-000008", language="en")
    assert "Message from Test Department &lt;A&amp;B&gt; about" in staff_reply_text(lead, "Hi", named)
    only_vi = settings.model_copy(update={"department_name_vi": "Sở Thử Nghiệm"})
    lead = Lead(ref="BG-2026-000009", language="en")
    assert staff_reply_text(lead, "Hello <3", only_vi).startswith(
        "💬 Message from Sở Thử Nghiệm about your enquiry <b>BG-2026-000009</b>:")
    assert staff_reply_text(lead, "Hello <3", settings).endswith("\n\nHello &lt;3")
    lead.language = "vi"
    assert staff_reply_text(lead, "Chào", settings).startswith(
        "💬 Tin nhắn từ cán bộ phụ trách xúc tiến thương mại về yêu cầu <b>BG-2026-000009</b>")


def test_the_name_is_read_from_the_environment_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_DEPARTMENT_NAME_VI", "  Sở   Thử Nghiệm ")
    monkeypatch.setenv("OCOP_DEPARTMENT_NAME_EN", "")
    loaded = load_settings()
    assert loaded.department_name("vi") == "Sở Thử Nghiệm" and loaded.department_name("en") == "Sở Thử Nghiệm"
    monkeypatch.setenv("OCOP_DEPARTMENT_NAME_EN", "x" * 201)
    with pytest.raises(SettingsError, match="OCOP_DEPARTMENT_NAME_EN"):
        load_settings()


async def test_doctor_says_whether_the_name_is_set(
    db: Database, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    await cmd_doctor(argparse.Namespace(), settings)
    out = capsys.readouterr().out
    assert "OCOP_DEPARTMENT_NAME_VI / _EN are not set" in out and "cán bộ phụ trách xúc tiến thương mại" in out
    await cmd_doctor(argparse.Namespace(), settings.model_copy(update={"department_name_en": "Test Department"}))
    assert "department name (OCOP_DEPARTMENT_NAME_VI / _EN): Test Department" in capsys.readouterr().out


def test_the_terminal_chat_warns_at_start_and_the_buyer_is_told_recorded_not_sent(tmp_path: Path) -> None:
    """No OCOP_STAFF_CHAT_ID and no routing rule: `ocop-bot chat` warns, and an enquiry confirmed there is
    "recorded", never "sent" (a real process, reading the chat from standard input)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({"OCOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
                "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    lines = ["/lang en", "I want to place a bulk order", "lychee", "1", "next", "2 tonnes", "Hai Phong port",
             "next month", "Jane Smith", "skip", "+44 20 7946 0958", "skip", "skip", "yes", "confirm"]
    result = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], cwd=tmp_path, env=env,
                            input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "warning: OCOP_STAFF_CHAT_ID is not set" in result.stderr and "Traceback" not in result.stderr
    assert "is recorded. It has not reached the trade department's staff yet" in result.stdout, result.stdout[-3000:]
    assert "has been sent" not in result.stdout and "Bắc Giang trade department" not in result.stdout
