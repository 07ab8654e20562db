"""The staff console's catalogue page over HTTP (real Starlette app, real database): upload → diff → Apply →
rollback, admins only, CSRF, stale and altered diffs refused, a bad file answered with row errors; both locales."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from bot.web.server import console_app
from catalog.db import Database
from catalog.exporter import write_csv
from catalog.importer import import_raw
from catalog.models import AuditEntry, CatalogUpload
from catalog.repository import catalog_version
from catalog.rows import read_tables
from tests.desk.console_helpers import WEB_SECRET, add_account, csrf_of, sign_in

GOOD_NATIONAL = Path(__file__).parent / "ocopvietnam_good.json"
WORDS = {
    "en": {"dry": "Dry run of", "applied": "Applied. The catalogue is now version", "stale": "changed since",
           "hash": "does not match", "errors": "Nothing was changed:", "restore": "Restore version",
           "restored": "Restored. The catalogue is now version"},
    "vi": {"dry": "Chạy thử tệp", "applied": "Đã áp dụng. Danh mục giờ là phiên bản", "stale": "đã thay đổi kể từ",
           "hash": "không khớp", "errors": "Chưa thay đổi gì:", "restore": "Khôi phục phiên bản",
           "restored": "Đã khôi phục. Danh mục giờ là phiên bản"},
}


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    web = settings.model_copy(update={"web_secret": SecretStr(WEB_SECRET)})
    transport = httpx.ASGITransport(app=console_app(db, web))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        yield http


async def catalogue(db: Database) -> tuple[dict[str, Any], int]:
    async with db.session() as session:
        return await read_tables(session), await catalog_version(session)


async def edited_csv(db: Database) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    tables, _ = await catalogue(db)
    rows = list(tables["products"].values())
    changed = dict(rows[0], name_en="Renamed <script>alert(1)</script>")
    return write_csv([changed, *rows[1:-1]], "products"), rows[0], rows[-1]


async def upload(client: httpx.AsyncClient, content: bytes, name: str = "products.csv",
                 **fields: str) -> httpx.Response:
    page = await client.get("/admin/catalog")
    return await client.post("/admin/catalog/upload", data={"csrf_token": csrf_of(page.text), **fields},
                             files={"file": (name, content, "text/csv")})


def apply_fields(diff: httpx.Response) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(diff.text),
        "upload": re.search(r'name="upload" value="(\d+)"', diff.text).group(1),  # type: ignore[union-attr]
        "sha256": re.search(r'name="sha256" value="([0-9a-f]{64})"', diff.text).group(1),  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_upload_diff_apply_and_rollback(client: httpx.AsyncClient, db: Database, lang: str) -> None:
    words = WORDS[lang]
    await add_account(db, "admin", admin=True, language=lang)
    await sign_in(client, "admin")
    before, before_state = await catalogue(db)
    content, first, last = await edited_csv(db)

    diff = await upload(client, content)
    assert diff.status_code == 200, diff.text[:2000]
    assert words["dry"] in diff.text and "products.csv" in diff.text
    assert "Renamed &lt;script&gt;alert(1)&lt;/script&gt;" in diff.text and "<script>alert" not in diff.text
    assert f"<code>{last['slug']}</code>" in diff.text  # removed
    assert (await catalogue(db)) == (before, before_state), "the dry run changed nothing"

    applied = await client.post("/admin/catalog/apply", data=apply_fields(diff), follow_redirects=True)
    assert words["applied"] in applied.text
    after, after_state = await catalogue(db)
    assert after_state == before_state + 1
    assert after["products"][first["slug"]]["name_en"].startswith("Renamed") and last["slug"] not in after["products"]
    again = await client.post("/admin/catalog/apply", data=apply_fields(diff))
    assert again.status_code == 409  # the same diff twice: applied once

    page = await client.get("/admin/catalog")
    versions = [int(v) for v in re.findall(r'data-version="(\d+)"', page.text)]
    assert versions == sorted(versions, reverse=True) and len(versions) == 2  # the seed, the upload
    confirm = await client.get(f"/admin/catalog/rollback/{versions[1]}")
    assert words["restore"] in confirm.text and (await catalogue(db))[1] == after_state, "confirm first"
    restored = await client.post(f"/admin/catalog/rollback/{versions[1]}",
                                 data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=True)
    assert words["restored"] in restored.text
    back, back_state = await catalogue(db)
    assert back == before and back_state == after_state + 1
    async with db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert {"catalog_diff", "catalog_applied", "catalog_rollback"} <= set(actions)


async def test_national_file_through_the_console(client: httpx.AsyncClient, db: Database) -> None:
    await add_account(db, "admin", admin=True)
    await sign_in(client, "admin")
    diff = await upload(client, GOOD_NATIONAL.read_bytes(), "national.json")
    assert diff.status_code == 200 and "my-gao-luc-ngan" in diff.text
    await client.post("/admin/catalog/apply", data=apply_fields(diff))
    assert "my-gao-luc-ngan" in (await catalogue(db))[0]["products"]


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_a_stale_or_altered_diff_is_refused(client: httpx.AsyncClient, db: Database, lang: str) -> None:
    await add_account(db, "admin", admin=True, language=lang)
    await sign_in(client, "admin")
    content, _, _ = await edited_csv(db)
    diff = await upload(client, content)
    fields = apply_fields(diff)
    altered = await client.post("/admin/catalog/apply", data=fields | {"sha256": "0" * 64})
    assert altered.status_code == 409 and WORDS[lang]["hash"] in altered.text

    tables, _ = await catalogue(db)  # someone else changes the catalogue meanwhile
    contacts = [dict(c, name_en=(c["name_en"] or "") + "!") for c in tables["contacts"].values()]
    await import_raw(db, {"contacts": list(enumerate(contacts, start=1))}, actor="someone")
    between = await catalogue(db)
    stale = await client.post("/admin/catalog/apply", data=fields)
    assert stale.status_code == 409 and WORDS[lang]["stale"] in stale.text
    assert await catalogue(db) == between


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_a_bad_file_is_answered_with_row_errors(client: httpx.AsyncClient, db: Database, lang: str) -> None:
    await add_account(db, "admin", admin=True, language=lang)
    await sign_in(client, "admin")
    before = await catalogue(db)
    bad = json.dumps({"products": [{"slug": "Bad Slug", "name_vi": "", "category": "toys"}]}).encode()
    answer = await upload(client, bad, "bad.json")
    assert answer.status_code == 422
    assert WORDS[lang]["errors"] in answer.text and 'id="row-errors"' in answer.text
    assert "unknown value &#39;toys&#39;" in answer.text and 'id="apply"' not in answer.text
    assert await catalogue(db) == before
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CatalogUpload)) == 0


async def test_outsiders_are_refused(client: httpx.AsyncClient, db: Database) -> None:
    before = await catalogue(db)
    content, _, _ = await edited_csv(db)
    no_session = await client.post("/admin/catalog/upload", files={"file": ("p.csv", content, "text/csv")},
                                   data={"csrf_token": "x"})
    assert no_session.status_code == 403
    assert (await client.get("/admin/catalog")).status_code == 303  # to the sign-in page

    await add_account(db, "clerk")
    await sign_in(client, "clerk")
    assert (await client.get("/admin/catalog")).status_code == 403
    page = await client.get("/leads")
    refused = await client.post("/admin/catalog/upload", data={"csrf_token": csrf_of(page.text)},
                                files={"file": ("p.csv", content, "text/csv")})
    assert refused.status_code == 403 and "Only administrators" in refused.text
    for path in ("/admin/catalog/apply", "/admin/catalog/rollback/1"):
        assert (await client.post(path, data={"csrf_token": csrf_of(page.text), "upload": "1"})).status_code == 403

    await add_account(db, "admin", admin=True)
    await sign_in(client, "admin")
    forged = await client.post("/admin/catalog/upload", data={"csrf_token": "forged"},
                               files={"file": ("p.csv", content, "text/csv")})
    assert forged.status_code == 403
    assert (await client.post("/admin/catalog/rollback/1", data={"csrf_token": "forged"})).status_code == 403
    assert await catalogue(db) == before
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CatalogUpload)) == 0
