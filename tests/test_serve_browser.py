"""`qrules serve` in a real browser: Debian's Chromium driven by Playwright (Python).

The server runs as `qrules serve` does, on 127.0.0.1 and a free port, with the example
history. In CI (env CI set) the test must run; on a machine without /usr/bin/chromium it is
skipped only outside CI. The screenshot goes to the test's own output folder (tmp_path).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
HISTORY = ROOT / "examples" / "haojiang-history.yaml"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/install-browser installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qrules.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                             "--history", str(HISTORY), "--as-of", "2025-12-31", "--port", str(port),
                             "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail("qrules serve exited: " + proc.stdout.read().decode("utf-8", "replace"))
            try:
                urllib.request.urlopen(url + "/api/rulesets", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("qrules serve did not answer within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def test_art26_subject_page_shows_class_and_chart(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{server}/subjects/ht")
    # 宏泰 ht: 12 points, live A; official D locked until 2026-01-01 (第二十六条第二款)
    assert page.locator("#official-class").inner_text().strip() == "D"
    assert page.locator("#live-class").inner_text().strip() == "A"
    chart = page.locator("svg.score-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 100
    assert page.locator("svg.score-chart path.score").count() == 1
    assert page.locator("svg.score-chart .adjustment").count() == 6
    assert "D类锁定至 2026-01-01" in (chart.text_content() or "")
    shot = tmp_path / "subject-ht.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_upload_a_history_in_the_page(server, browser, tmp_path):
    text = HISTORY.read_text(encoding="utf-8").replace("汕头市濠江区宏泰电器厂", "宏泰电器（上传版）")
    upload = tmp_path / "uploaded.yaml"
    upload.write_text(text, encoding="utf-8")
    page = browser.new_page()
    page.goto(server + "/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/?*h=*")
    assert "uploaded.yaml" in page.content() and "宏泰电器（上传版）" in page.content()
    page.click("a[href^='/subjects/ht?']")
    assert page.locator("#official-class").inner_text().strip() == "D"
