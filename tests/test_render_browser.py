"""The rendered pages in a real headless Chromium (Debian's /usr/bin/chromium), loaded from file://.

No console errors, no request that leaves file://, every example service on the index, and a hostile
description (a <script> tag, javascript: links) rendered inert. Screenshots go to pytest's temporary folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from render_helpers import AS_OF, REPO, example_copy, make_hostile, service_names
from svcascode.cli import main

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.consumer,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="Debian's chromium is not installed (apt-get install -y chromium)")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example catalogue with one hostile service, rendered as a site and a report."""
    base = tmp_path_factory.mktemp("browser")
    root = example_copy(base / "repo")
    make_hostile(root)
    old = Path.cwd()
    os.chdir(root)
    try:
        for args in (["render", "catalogue", "--out", str(base / "site")],
                     ["render", "report", "--out", str(base / "report"), "--format", "html"]):
            result = CliRunner().invoke(main, [*args, "--as-of", AS_OF], catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
    finally:
        os.chdir(old)
    return base


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: pytest's temporary folder, never the working tree."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Visit:
    """One page load with every console message, page error, dialog and request recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_timeout(150)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.dialogs == []
        assert self.requests and all(url.startswith("file://") for url in self.requests), self.requests


def test_index_lists_every_example_service(rendered: Path, browser: Any, screenshots: Path) -> None:
    visit = Visit(browser, rendered / "site" / "index.html")
    visit.assert_clean()
    links = visit.page.eval_on_selector_all("table.services td:first-child a", "els => els.map(e => e.textContent)")
    assert links == sorted(service_names(REPO))  # the index is sorted by name
    visit.page.screenshot(path=str(screenshots / "catalogue-index.png"), full_page=True)
    assert (screenshots / "catalogue-index.png").stat().st_size > 10_000


def test_every_page_loads_offline_without_errors(visited: dict[str, "Seen"]) -> None:
    assert len(visited) >= 10
    assert {name: seen.errors for name, seen in visited.items() if seen.errors} == {}
    assert {name: seen.dialogs for name, seen in visited.items() if seen.dialogs} == {}
    for name, seen in visited.items():
        assert seen.requests and all(url.startswith("file://") for url in seen.requests), (name, seen.requests)


def test_hostile_service_renders_inert(rendered: Path, browser: Any, screenshots: Path) -> None:
    visit = Visit(browser, rendered / "site" / "services" / "claims-api.html")
    visit.assert_clean()
    page = visit.page
    description = page.inner_text("p.description")
    assert "<script>alert(1)</script>" in description  # shown as text
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and not [h for h in hrefs if h.strip().lower().startswith("javascript:")]
    assert "javascript:alert(2)" in page.inner_text("dl.facts")  # the annotation: text, not a link
    page.screenshot(path=str(screenshots / "service-claims-api.png"), full_page=True)
    assert visit.dialogs == []


def test_report_draws_the_trend_or_says_there_is_no_history(rendered: Path, browser: Any) -> None:
    visit = Visit(browser, rendered / "report" / "report.html")
    visit.assert_clean()
    assert "no history: not a git repository" in visit.page.inner_text("#trend + p")


# Every word (a run of letters and digits) in a table cell, with the line boxes its text occupies; a word
# drawn on two lines has been split inside it. Separators (- . / : _) are not part of a word, so an
# identifier may wrap after them.
SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
        if (lines.size > 1) split.push(`${match[0]} in "${cell.textContent.trim().slice(0, 60)}"`);
      }
    }
  }
  return split;
}"""


def _all_pages(rendered: Path) -> list[Path]:
    site = rendered / "site"
    return [site / "index.html", *sorted(site.glob("by-*.html")), *sorted((site / "services").glob("*.html")),
            *sorted((site / "teams").glob("*.html")), site / "src" / "services" / "catalogue" / "claims-api.yaml.html",
            rendered / "report" / "report.html"]


@dataclass
class Seen:
    """What one load of a page showed: console and page errors, dialogs, requests, the words a table cell
    split across lines and the page's width."""
    errors: list[str]
    dialogs: list[str]
    requests: list[str]
    split: list[str]
    width: int


@pytest.fixture(scope="module")
def visited(rendered: Path, browser: Any) -> dict[str, Seen]:
    """Every page of the site and the report, each loaded once at 1280 px: the tests of every page read it."""
    seen: dict[str, Seen] = {}
    for path in _all_pages(rendered):
        visit = Visit(browser, path)
        seen[str(path.relative_to(rendered))] = Seen(visit.errors, visit.dialogs, visit.requests,
                                                      visit.page.evaluate(SPLIT_WORDS),
                                                      visit.page.evaluate("document.documentElement.scrollWidth"))
        visit.page.close()
    return seen


def test_table_cells_wrap_between_words_at_1280_px(visited: dict[str, "Seen"]) -> None:
    """No word in a table cell is broken across lines ("productio|n"), and no page scrolls sideways."""
    assert {name: seen.split for name, seen in visited.items() if seen.split} == {}
    assert {name: seen.width for name, seen in visited.items() if seen.width > 1280} == {}


def test_identifiers_in_cells_carry_break_opportunities_after_separators(rendered: Path, browser: Any, screenshots: Path) -> None:
    """Cells never use break-all or anywhere; file locations and rule ids wrap after - . / only."""
    visit = Visit(browser, rendered / "report" / "report.html")
    page = visit.page
    styles = page.eval_on_selector_all(
        "td, th", "els => [...new Set(els.map(e => getComputedStyle(e).wordBreak + ' ' + getComputedStyle(e).overflowWrap"
        " + ' ' + getComputedStyle(e).hyphens))]")
    assert styles == ["normal break-word manual"]
    location = page.eval_on_selector("#findings + table tbody tr td:nth-child(3)", "e => e.innerHTML")
    assert "services/<wbr>" in location and ".<wbr>yaml" in location
    words = page.eval_on_selector("#findings + table tbody tr td:nth-child(6)", "e => e.innerHTML")
    # plain words untouched: no word of letters only carries a break hint
    assert not [w for w in words.split() if "<wbr>" in w and w.replace("<wbr>", "").isalpha()]
    visit.page.close()
    for path, shot in ((rendered / "site" / "index.html", "catalogue-index-1280.png"),
                       (rendered / "report" / "report.html", "report-1280.png")):
        visit = Visit(browser, path)
        visit.page.screenshot(path=str(screenshots / shot), full_page=True)
        visit.page.close()
