"""A headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, with async wrappers so the
bot and the console keep running in the test's event loop while the browser waits."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def start_chromium(downloads: Path) -> webdriver.Chrome:
    """Chromium without a display; the error says what to install when it is missing."""
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        raise RuntimeError(
            "the browser tests need Debian's chromium and chromium-driver packages "
            "(apt-get install -y chromium chromium-driver; .ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1360,900",
        "--lang=en-US",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "en-US,en",
        },
    )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Browser:
    """The driver's blocking calls, run in a thread; `shots` collects screenshots as the test goes."""

    def __init__(self, driver: webdriver.Chrome, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def go(self, path: str) -> None:
        await self._run(self.driver.get, self.base + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base)

    async def text(self, css: str = "body") -> str:
        """The element's text, once it is on the page: a form's submit loads the next page asynchronously,
        so the element may not be there yet the moment the click returns."""
        element = await self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, css), f"{css} on the page")
        return await self._run(lambda: element.text)

    async def find(self, css: str) -> WebElement:
        return await self._run(self.driver.find_element, By.CSS_SELECTOR, css)

    async def exists(self, css: str) -> bool:
        return bool(await self._run(self.driver.find_elements, By.CSS_SELECTOR, css))

    async def type(self, css: str, text: str) -> None:
        def do() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            field.clear()
            field.send_keys(text)

        await self._run(do)

    async def click(self, css: str) -> None:
        await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def choose(self, css: str, *, value: str | None = None, text: str | None = None) -> None:
        def do() -> None:
            menu = Select(self.driver.find_element(By.CSS_SELECTOR, css))
            if value is not None:
                menu.select_by_value(value)
            else:
                menu.select_by_visible_text(text or "")

        await self._run(do)

    async def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        await self._run(self.driver.save_screenshot, str(path))
        return path

    async def script(self, code: str, *args: Any) -> Any:
        return await self._run(self.driver.execute_script, code, *args)

    async def until(self, check: Callable[[], Any], message: str, wait: float = 15.0) -> Any:
        """Poll a blocking check (run in a thread) until it returns something true."""
        deadline = time.monotonic() + wait
        while True:
            try:
                found = await self._run(check)
            except WebDriverException:
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {message}")
            await asyncio.sleep(0.1)
