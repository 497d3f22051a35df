"""The dashboard in a real browser: Debian's headless Chromium driven by selenium through the
system chromedriver (nothing is downloaded). A signed push makes a run appear on the page,
its job's log lines arrive live over server-sent events, and Cancel on the page cancels it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.fixtures.service import TOKEN, Served, push_body
from tests.integration.fixtures.workspace import Workspace

CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TICKING = """
on: {push: {}}
jobs:
  ticking:
    steps:
      - run: i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not Path(CHROMEDRIVER).exists() or shutil.which("chromium") is None:
        pytest.fail("no chromium/chromedriver: run scripts/setup.sh (it installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_pushed_run_appears_streams_its_log_and_is_cancelled_from_the_page(
    workspace: Workspace, served: Callable[..., Served], browser: WebDriver
) -> None:
    workspace.pipeline(TICKING)
    commit = workspace.commit("ticking")
    workspace.git("checkout", "--quiet", "-B", "main")
    service = served()
    browser.get(f"{service.url}/#token={TOKEN}")
    wait = WebDriverWait(browser, 60, poll_frequency=0.1)
    assert not browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")

    run_id = service.hook(push_body(commit), "d-browser").json()["run"]
    row = f'tr[data-run="{run_id}"]'
    wait.until(lambda b: commit[:12] in _text(b, row))  # the list refreshes itself
    assert "pipelines/ci.yml" in _text(browser, row)
    wait.until(lambda b: _click(b, row))
    job = '[data-job="ticking"]'
    wait.until(lambda b: "running" in _text(b, job))
    wait.until(lambda b: _click(b, job))
    log = browser.find_element(By.ID, "log")  # kept across refreshes
    wait.until(lambda b: "tick 3" in log.text)
    seen = _ticks(log.text)
    wait.until(lambda b: _ticks(log.text) >= seen + 5)  # more lines arrive while it runs
    assert service.run(run_id)["status"] == "running"

    browser.find_element(By.ID, "cancel").click()
    status = browser.find_element(By.ID, "run-status")
    wait.until(lambda b: status.text == "cancelled")
    assert service.finished(run_id)["status"] == "cancelled"
    assert _ticks(log.text) < 600


def _text(browser: WebDriver, selector: str) -> str:
    """The element's text now; "" while it is missing or being redrawn (the page refreshes
    its lists every 2 s, which replaces their elements)."""
    try:
        return str(browser.find_element(By.CSS_SELECTOR, selector).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _click(browser: WebDriver, selector: str) -> bool:
    try:
        browser.find_element(By.CSS_SELECTOR, selector).click()
    except (NoSuchElementException, StaleElementReferenceException):
        return False
    return True


def _ticks(text: str) -> int:
    found = [line for line in text.splitlines() if line.startswith("tick ")]
    return int(found[-1].split()[1]) if found else 0
