"""The durable references of `benchmarks/bench_updates.py` (`benchmarks/echo_bot.py`): they must store and mark
what a durable inbox stores and marks, or the cost they measure is not durability's."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from benchmarks.echo_bot import AioInbox, ThreadInbox, open_inbox


def update(update_id: int, chat: int, text: str) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "chat": {"id": chat}, "text": text}}


def table(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:  # another connection: only what was committed
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("variant", ["durable", "stateful", "stateful-aiosqlite", "stateful-thread"])
async def test_accepted_batch_is_committed_and_redelivery_skipped(tmp_path: Path, variant: str) -> None:
    path = tmp_path / "inbox.db"
    inbox = await open_inbox(variant, str(path))
    try:
        assert isinstance(inbox, AioInbox) == variant.endswith("aiosqlite")
        assert isinstance(inbox, ThreadInbox) == variant.endswith("thread")
        await inbox.accept([update(1, 7, "mật ong"), update(2, 8, "honey")])
        await inbox.accept([update(2, 8, "changed"), update(3, 7, "vải")])  # 2 is a redelivery
        rows = table(path, "SELECT update_id, payload, status FROM inbox ORDER BY update_id")
        assert [(r[0], r[2]) for r in rows] == [(1, 0), (2, 0), (3, 0)]
        assert json.loads(str(rows[1][1]))["message"]["text"] == "honey"
        assert table(path, "PRAGMA journal_mode") == [("wal",)]
    finally:
        await inbox.close()


async def test_durable_marks_done_after_the_reply_in_its_own_commit(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    inbox = await open_inbox("durable", str(path))
    try:
        await inbox.accept([update(1, 7, "mật ong"), update(2, 7, "honey")])
        await inbox.done(1)
        rows = table(path, "SELECT update_id, payload, status FROM inbox ORDER BY update_id")
        assert [(r[0], r[2]) for r in rows] == [(1, 2), (2, 0)]
        assert rows[0][1] == "" and json.loads(str(rows[1][1]))["message"]["text"] == "honey"
        assert table(path, "SELECT count(*) FROM chat") == [(0,)]
    finally:
        await inbox.close()


@pytest.mark.parametrize("variant", ["stateful", "stateful-aiosqlite", "stateful-thread"])
async def test_stateful_commits_state_with_handled_mark_and_done_rides_on_next(tmp_path: Path, variant: str) -> None:
    path = tmp_path / "inbox.db"
    inbox = await open_inbox(variant, str(path))
    try:
        await inbox.accept([update(1, 7, "mật ong"), update(2, 7, "honey")])
        await inbox.handle(1, 7, "mật ong")
        assert table(path, "SELECT update_id, status FROM inbox") == [(1, 1), (2, 0)]
        assert json.loads(str(table(path, "SELECT state FROM chat WHERE chat_id = 7")[0][0]))["seen"] == 1
        await inbox.done(1)  # owed: committed with the next update's transaction
        assert table(path, "SELECT status FROM inbox WHERE update_id = 1") == [(1,)]
        await inbox.handle(2, 7, "honey")
        assert table(path, "SELECT update_id, status FROM inbox") == [(1, 2), (2, 1)]
        state = json.loads(str(table(path, "SELECT state FROM chat WHERE chat_id = 7")[0][0]))
        assert state["seen"] == 2 and state["last"] == "honey"
        await inbox.done(2)
    finally:
        await inbox.close()
    assert table(path, "SELECT update_id, status FROM inbox") == [(1, 2), (2, 2)]  # owed marks kept on close
