"""The wallboard in a real headless Chromium (Debian's chromium and chromium-driver, through selenium).

Without them the tests are skipped, saying so; with ESLBRIDGE_REQUIRE_BROWSER=1 (set by .ci/run, which
installs them) their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.integration.test_wallboard import seed_board

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        missing = "chromium" if not CHROMIUM else "chromedriver"
        reason = f"{missing} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("ESLBRIDGE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ESLBRIDGE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


# Read in one script run: the page redraws its tables at every poll, so element handles go stale.
TABLE_JS = """
const out = {};
for (const r of document.querySelectorAll('#' + arguments[0] + ' tbody tr:not(.empty)')) {
  const cells = {};
  r.querySelectorAll('td').forEach((td, i) => { cells[td.className.split(' ').pop() || 'c' + i] = td.textContent; });
  out[(r.querySelector('.name') || r.querySelector('td')).textContent] = cells;
}
return out;
"""


def rows(driver: Any, table: str) -> dict[str, dict[str, str]]:
    """Row name → {the cell's last class name: its text}."""
    return dict(driver.execute_script(TABLE_JS, table))


def finished(driver: Any) -> dict[str, int]:
    return {name: int(cells["finished"].replace(",", "")) for name, cells in rows(driver, "tasks").items()}


def test_the_demo_prints_the_wallboard_which_shows_its_tasks_and_numbers_that_move(browser, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "demo", "--numbers", "600", "--linger"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("wallboard at "):
                url = line.split()[2]
        assert url is not None and "/ui#token=ebt_" in url
        browser.get(url)
        wait_for(lambda: set(finished(browser)) == {"robot campaign", "agent campaign"}, timeout=30)
        first = finished(browser)
        # The page polls every 2 s: calls complete and the figures move.
        wait_for(lambda: any(finished(browser)[k] > first[k] for k in first), timeout=60, interval=0.25)
        assert "#token" not in browser.current_url  # the token left the address bar
        assert rows(browser, "nodes")["fs1"]["state"] == "dialling"
        assert browser.find_element("id", "scope").text == "all tenants"
        wait_for(lambda: sum(finished(browser).values()) == 600, timeout=120, interval=0.5)
        assert console_errors(browser) == []
    finally:
        proc.send_signal(signal.SIGTERM)  # --linger: the demo stops cleanly on SIGTERM
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_the_page_shows_agents_abandonment_paused_nodes_and_keeps_each_tenant_to_its_own(browser, db, api):
    s = seed_board(db)
    browser.get(f"{api.url}/ui#token={s['operator']}")
    wait_for(lambda: len(rows(browser, "tasks")) == 3, timeout=30)
    tasks = rows(browser, "tasks")
    agents = tasks["agents one"]
    assert agents["agents"] == "3 / 2 / 1"
    assert agents["abandoned"] == "25.0 % (1 of 4)"
    assert tasks["robot one"]["progress"] == "60 %" and tasks["robot one"]["in-flight"] == "2"
    nodes = rows(browser, "nodes")
    assert nodes["fs2"]["state"] == "paused" and nodes["fs1"]["state"] == "dialling"
    assert nodes["fs2"]["links"] == "e1 down"
    assert rows(browser, "lines")["trunk-a"]["in-flight"] == "2"
    assert browser.find_element("id", "webhooks-pending").text == "1"
    assert console_errors(browser) == []

    # A tenant's token, in a fresh tab session: only its own tasks.
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{api.url}/ui#token={s['tenant']}")
    wait_for(lambda: browser.find_element("id", "scope").text == "tenant t1", timeout=30)
    wait_for(lambda: set(rows(browser, "tasks")) == {"robot one", "agents one"}, timeout=30)
    assert set(rows(browser, "nodes")) == {"fs1"}

    # An unknown token: the page asks for one instead of showing figures.
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{api.url}/ui#token=ebt_unknown")
    wait_for(lambda: browser.find_element("id", "login").is_displayed(), timeout=30)
    assert browser.find_element("id", "status").text == "token refused"
    assert not browser.find_element("id", "board").is_displayed()
    # The refused poll is the only console error (a 401 is logged by the browser itself).
    assert all("401" in e for e in console_errors(browser))
