"""The built docs site: offline (nothing loaded from outside) and searchable in Chinese.

The site is built once, as a clean checkout builds it (plain ``mkdocs build --strict``, in a copy of
the files a commit of the working tree holds: nothing ignored, such as a stale ``docs/reference/``
or ``.site/``, can help), into a temporary directory; the build writes nothing under ``docs/``. Then:

- no page or stylesheet of it loads anything over http(s): bureau intranets are offline;
- the Python API page renders every public name from its docstring (Google-style sections);
- the search index holds Chinese words (material's search plugin segments with jieba), so
  two-character words such as 修复 and 扣分 are terms;
- Debian's Chromium, headless and driven by Playwright, opens the site served on 127.0.0.1,
  types 修复 into the search box the way an input method does, and finds the repair pages;
  every page of the site loads with no script error and every request the browser makes stays
  on 127.0.0.1 (anything else is refused and reported). A screenshot of the home page is saved
  to ``.site-artifacts/home.png`` (and of the search to ``search.png``) as a build artifact.

The browser test is skipped only when Chromium is missing and ``CI`` is not set; in CI it runs.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / ".site-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
ZWSP = "\u200b"   # the plugin puts it between the words jieba finds


def clean_checkout(dest: Path) -> Path:
    """The files a clone would have if the working tree were committed (tracked and new, not ignored)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    docs_before = sorted(p.relative_to(checkout) for p in (checkout / "docs").rglob("*"))
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(checkout) for p in (checkout / "docs").rglob("*") if "__pycache__" not in p.parts)
    assert written == [p for p in docs_before if "__pycache__" not in p.parts], "the build wrote under docs/"
    return out


def test_generated_reference_pages_are_built_not_committed(site):
    """docs/reference/ is made by the build (docs/gen_reference.py), from the code of the checkout:
    nothing of it is in git, and each page is in the site."""
    tracked = subprocess.run(["git", "ls-files", "docs/reference"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked == ""
    for page in ("errors", "ruleset-format", "scopes", "history-format", "cli", "api", "http-api",
                 "example-history", "rulesets/guangdong-2021", "rulesets/haojiang-2023"):
        assert (site / "reference" / page / "index.html").is_file(), page
    assert (site / "reference" / "schemas" / "ruleset.schema.json").is_file()
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "退出码 exit codes" in cli and "qrules serve" in cli   # the --help of today's code


# --- offline: no asset from a CDN or web-font service ------------------------------------------

_EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
_CSS_URL = re.compile(r"""(?:url\(\s*|@import\s+)['"]?((?:https?:)?//[^'")\s]+)""", re.I)
_NOT_LOADED = {"canonical", "alternate", "author", "license", "me"}   # <link> rels that fetch nothing


class _AssetFinder(HTMLParser):
    """Collects the URLs an HTML page makes the browser fetch by itself (not the links a reader follows)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        fetched = [a.get("src", ""), a.get("poster", ""), a.get("data", "") if tag == "object" else ""]
        fetched += [part.split()[0] for part in a.get("srcset", "").split(",") if part.strip()]
        if tag == "link" and not set(a.get("rel", "").lower().split()) <= _NOT_LOADED:
            fetched.append(a.get("href", ""))
        self.urls += [u for u in fetched if _EXTERNAL.match(u)]
        self.urls += _CSS_URL.findall(a.get("style", ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += _CSS_URL.findall(data)


def external_assets(site_dir: Path) -> list[str]:
    """Every ``file: url`` of the site that would be fetched from outside (HTML and CSS)."""
    found = []
    for path in sorted(site_dir.rglob("*")):
        if path.suffix == ".html":
            finder = _AssetFinder()
            finder.feed(path.read_text(encoding="utf-8"))
            urls = finder.urls
        elif path.suffix == ".css":
            urls = _CSS_URL.findall(path.read_text(encoding="utf-8"))
        else:
            continue
        found += [f"{path.relative_to(site_dir)}: {u}" for u in urls]
    return found


def test_asset_finder_catches_cdn_and_web_fonts(tmp_path):
    (tmp_path / "index.html").write_text(
        '<link rel="preconnect" href="https://fonts.gstatic.com"><link rel="canonical" href="https://x.cn/">'
        '<script src="//cdn.example/x.js"></script><img srcset="a.png 1x, https://cdn.example/b.png 2x">'
        '<a href="https://gd.gov.cn/">外部链接照常</a><div style="background:url(https://cdn.example/c.png)"></div>',
        encoding="utf-8")
    (tmp_path / "x.css").write_text('@import "https://fonts.googleapis.com/css?family=Roboto"; a{b:url(i.svg)}',
                                    encoding="utf-8")
    assert external_assets(tmp_path) == [
        "index.html: https://fonts.gstatic.com", "index.html: //cdn.example/x.js",
        "index.html: https://cdn.example/b.png", "index.html: https://cdn.example/c.png",
        "x.css: https://fonts.googleapis.com/css?family=Roboto"]


def test_site_loads_nothing_from_outside(site):
    assert (site / "index.html").exists()
    assert external_assets(site) == []


# --- API reference from docstrings (mkdocstrings) ------------------------------------------------

def _gen_reference():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_roles_become_markdown_links_or_code():
    out = _gen_reference().markdown_roles(
        "raise :class:`QrulesError`; see :func:`~qrules.errors.render` and :meth:`History.subject`::\n\n    x = 1\n",
        public={"QrulesError", "History"})
    assert out == ("raise [`QrulesError`][qrules.QrulesError]; see `render` and `History.subject`:\n\n"
                   "    x = 1\n")


def test_api_page_renders_every_public_name_from_its_docstring(site):
    import qrules

    page = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in qrules.__all__:
        assert f'id="qrules.{name}"' in page, f"qrules.{name} has no entry on the API page"
    from pydantic import BaseModel

    for name in qrules.__all__:   # result and history models: every field in a table
        obj = getattr(qrules, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for field, info in obj.model_fields.items():
                assert field == "span" or f"<td><code>{info.alias or field}</code></td>" in page, (name, field)
    text = re.sub(r"<[^>]+>", "", page)
    assert ":class:`" not in text and ":func:`" not in text and "``" not in text, "raw reST on the API page"
    # Google-style sections (Args:, Returns:, Raises:) render as titled tables (in Chinese: 参数：,
    # 返回：, 引发：), never as the raw words.
    section = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?):\s*$", re.M)
    written = sum(len(section.findall(getattr(qrules, name).__doc__ or "")) for name in qrules.__all__)
    assert page.count('class="doc-section-title"') >= written
    assert not section.search(text)


# --- Chinese search ----------------------------------------------------------------------------

def test_search_index_has_chinese_words(site):
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "zh" in index["config"]["lang"]
    assert re.search(index["config"]["separator"], ZWSP), "the separator must split at the word marks"

    def pages_with(word: str) -> set[str]:
        return {d["location"].split("#")[0] for d in index["docs"]
                if f"{ZWSP}{word}{ZWSP}" in f"{ZWSP}{d['title']}{ZWSP}{d['text']}{ZWSP}"}

    assert {"guide/writing-rules/", "history/"} <= pages_with("修复")
    assert {"guide/writing-rules/", "history/"} <= pages_with("扣分")


# --- in a real browser -------------------------------------------------------------------------

def _chromium() -> str | None:
    path = os.environ.get("QRULES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


@pytest.fixture(scope="module")
def browser_page(site):
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is missing: .ci/install-browser installs Debian's chromium")
        pytest.skip("Chromium not found (apt-get install chromium, or run .ci/install-browser); "
                    "the browser check of the docs site did not run")
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    outside: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")

            def only_local(route):
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", only_local)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(base)
            yield page, base, outside
            browser.close()
    finally:
        server.shutdown()
        thread.join()


def _type_like_an_ime(page, text: str) -> None:
    """Enter ``text`` as a Chinese input method does: a composition per character, committed with
    key events (key "Process", code 229). The theme reads the box on keyup, so a bare insertText
    (Playwright's keyboard.type for non-ASCII text) would never start a search."""
    cdp = page.context.new_cdp_session(page)
    for ch in text:
        cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": "Process", "windowsVirtualKeyCode": 229})
        cdp.send("Input.imeSetComposition", {"text": ch, "selectionStart": 1, "selectionEnd": 1})
        cdp.send("Input.insertText", {"text": ch})
        cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Process", "windowsVirtualKeyCode": 229})
    cdp.detach()


def _search(page, query: str) -> tuple[str, list[str]]:
    """Type ``query`` into the search box; return the result count line and the result links."""
    box = page.locator("input.md-search__input")
    box.click()
    box.fill("")
    _type_like_an_ime(page, query)
    assert box.input_value() == query
    meta = page.locator(".md-search-result__meta")
    meta.filter(has_text=re.compile("结果")).wait_for()   # not "键入以开始搜索" nor "正在初始化搜索引擎"
    hrefs = page.eval_on_selector_all(".md-search-result__list a", "els => els.map(e => e.href)")
    # "http://127.0.0.1:PORT/history/?h=修复#repair" -> "history/#repair" (?h= highlights the words)
    links = [urlsplit(h).path.lstrip("/") + (f"#{urlsplit(h).fragment}" if urlsplit(h).fragment else "")
             for h in hrefs]
    return meta.inner_text(), links


def test_browser_home_page_screenshot(browser_page):
    page, base, outside = browser_page
    page.goto(base)
    assert "产品质量信用分类监管" in page.inner_text("article")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"))
    assert (ARTIFACTS / "home.png").stat().st_size > 10_000
    assert outside == []


def test_browser_search_xiufu_finds_the_repair_pages(browser_page):
    page, base, outside = browser_page
    page.goto(base)
    meta, links = _search(page, "修复")
    page.screenshot(path=str(ARTIFACTS / "search.png"))
    assert "符合条件的结果" in meta and not meta.startswith("没有")
    assert {"guide/writing-rules/#5-repair", "history/#repair"} <= set(links), links
    assert outside == []


def test_browser_every_page_loads_offline_without_script_errors(browser_page, site):
    page, base, outside = browser_page
    page.goto(base)
    page.evaluate("fetch('https://cdn.example.invalid/x.js').catch(() => null)")   # the watch works:
    for _ in range(100):
        if outside:
            break
        page.wait_for_timeout(100)
    assert outside[-1:] == ["https://cdn.example.invalid/x.js"]
    outside.pop()
    errors: list[str] = []

    def on_error(exc):
        errors.append(f"{page.url}: {exc}")

    page.on("pageerror", on_error)
    try:
        pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
        assert len(pages) > 20
        for rel in pages:
            page.goto(base + ("" if rel == "." else rel + "/"), wait_until="load")
    finally:
        page.remove_listener("pageerror", on_error)
    assert outside == [] and errors == []


def test_browser_search_koufen_and_a_word_not_in_the_site(browser_page):
    page, base, _ = browser_page
    page.goto(base)
    meta, links = _search(page, "扣分")
    assert {"guide/writing-rules/#4-items", "history/#deduction"} <= set(links), links
    page.goto(base)
    meta, links = _search(page, "鳄鱼")
    assert links == [] and meta.startswith("没有")
