"""The catalogue page in a real browser (headless Chromium through Selenium) beside the running bot: an admin
uploads a CSV, reads the diff, applies it and rolls it back. Screenshots go under the test's tmp dir (with
CATALOG_DOCS_SCREENSHOT=1, the diff also into docs/catalog-upload.png for the docs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from selenium.webdriver.common.by import By

from catalog.db import Database
from catalog.exporter import write_csv
from catalog.repository import catalog_version
from catalog.rows import read_tables
from tests.desk.browser import Browser
from tests.desk.console_helpers import add_account
from tests.desk.test_browser import TOKEN, app, browser, downloads, driver, sign_in  # noqa: F401 - the fixtures

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def test_upload_diff_apply_and_restore_in_the_browser(browser: Browser, db: Database,  # noqa: F811
                                                            tmp_path: Path) -> None:
    await add_account(db, "quantri", admin=True, language="vi")
    async with db.session() as session:
        before, state = await read_tables(session), await catalog_version(session)
    rows = list(before["products"].values())
    edited = [dict(rows[0], stars=5 if rows[0]["stars"] != 5 else 4, name_en="Renamed in the browser"), *rows[1:-1]]
    upload = tmp_path / "danh-muc.csv"
    upload.write_bytes(write_csv(edited, "products"))

    await browser.go("/login")
    await sign_in(browser, "quantri")
    await browser.until(lambda: browser.path.startswith("/leads"), "signed in")
    await browser.go("/admin/catalog")
    assert "Tải lên tệp danh mục" in await browser.text("main")
    await browser._run(lambda: browser.driver.find_element(By.CSS_SELECTOR, "#file").send_keys(str(upload)))
    await browser.click("#check")
    diff = await browser.text("#diff")
    assert "Chạy thử tệp danh-muc.csv" in diff and "Renamed in the browser" in diff and rows[-1]["slug"] in diff
    shot = await browser.shot("catalog-diff")
    if os.environ.get("CATALOG_DOCS_SCREENSHOT") == "1":
        shutil.copy(shot, DOCS / "catalog-upload.png")

    await browser.click("#apply")
    assert "Đã áp dụng. Danh mục giờ là phiên bản" in await browser.text("#notice")
    await browser.shot("catalog-applied")
    async with db.session() as session:
        assert await catalog_version(session) == state + 1

    await browser.click("#history tr[data-version='1'] a")
    assert "Khôi phục phiên bản 1?" in await browser.text("#confirm")
    await browser.click("#rollback-confirm")
    assert "Đã khôi phục" in await browser.text("#notice")
    await browser.shot("catalog-restored")
    async with db.session() as session:
        assert await read_tables(session) == before and await catalog_version(session) == state + 2
