"""The service review and the compliance report as a manager reads them, in headless Chromium at 1280 px:
a one-screen summary first, then a table of contents whose every link lands, then the details; the same
look as the catalogue site; in the review, the definitions that judged a service named once, in its
section, not on every row. Screenshots go to a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from render_helpers import AS_OF, example_copy
from svcascode.cli import main
from test_render_browser import ARGS, CHROMIUM, Visit

pytestmark = [pytest.mark.consumer,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]

SCREEN = 900  # the height of the first screen at 1280 x 900


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("review")
    root = example_copy(base / "repo")
    old = Path.cwd()
    os.chdir(root)
    try:
        for args in (["sla", "review", "--period", "2026-01..2026-11", "--format", "html", "--output",
                      str(base / "review.html")],
                     ["render", "report", "--out", str(base / "report"), "--format", "html"],
                     ["render", "catalogue", "--out", str(base / "site"), "--deadline-days", "0"]):
            result = CliRunner().invoke(main, [*args, "--as-of", AS_OF], catch_exceptions=False)
            assert result.exit_code in (0, 1), result.output
    finally:
        os.chdir(old)
    return {"review": base / "review.html", "report": base / "report" / "report.html",
            "service": base / "site" / "services" / "quotes-pricing.html", "shots": base}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _links_land(page: Any) -> list[str]:
    """The contents' links whose target is not on the page."""
    return page.evaluate("""() => [...document.querySelectorAll('nav.toc a')]
        .map(a => a.getAttribute('href')).filter(h => !document.getElementById(h.slice(1)))""")


def _box(page: Any, selector: str) -> dict[str, float]:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                           "return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY}; }")


def test_the_review_opens_with_a_one_screen_summary_then_contents(pages: dict[str, Path], browser: Any) -> None:
    visit = Visit(browser, pages["review"])
    visit.assert_clean()
    page = visit.page
    summary, contents = _box(page, "#summary"), _box(page, "nav.toc")
    assert summary["top"] < 200 and summary["bottom"] <= SCREEN  # the whole summary on the first screen
    assert contents["top"] >= summary["bottom"]
    assert _links_land(page) == []
    rows = page.eval_on_selector_all("#summary table.summary tbody tr", "rs => rs.map(r => r.innerText)")
    services = page.eval_on_selector_all("section[id^='svc-']", "ss => ss.map(s => s.id.slice(4))")
    assert len(rows) == len(services) >= 15
    # quotes-pricing: November breached by an open partial outage, 5 % credit, and breached now, as its page says
    quotes = next(r for r in rows if r.startswith("quotes-pricing"))
    assert "5 % 2026-11" in quotes and "SLA breached" in quotes
    # the definitions are named once per service, in its section; no window row repeats them
    assert page.eval_on_selector_all("p.definition", "ps => ps.length") == len(services)
    cells = page.eval_on_selector_all("table.windows td", "ts => ts.map(t => t.innerText)")
    assert not any("definitions" in cell or "commit" in cell for cell in cells)
    page.screenshot(path=str(pages["shots"] / "review-1280.png"))


def test_the_review_has_the_look_of_the_catalogue_site(pages: dict[str, Path], browser: Any) -> None:
    styles = {}
    for name in ("review", "service"):
        page = Visit(browser, pages[name]).page
        styles[name] = page.evaluate("""() => { const h = document.querySelector('header.site');
            const b = document.querySelector('.badge.s-breached'); const body = getComputedStyle(document.body);
            return {header: h ? getComputedStyle(h).backgroundColor : null, font: body.fontFamily,
                    breached: b ? getComputedStyle(b).backgroundColor : null}; }""")
    assert styles["review"] == styles["service"]
    assert styles["review"]["header"] is not None and styles["review"]["breached"] == "rgb(179, 38, 30)"


def test_the_report_opens_with_the_posture_and_the_findings_on_the_first_screen(pages: dict[str, Path],
                                                                               browser: Any) -> None:
    visit = Visit(browser, pages["report"])
    visit.assert_clean()
    page = visit.page
    summary, contents, findings = _box(page, "#summary"), _box(page, "nav.toc"), _box(page, "#findings")
    assert summary["bottom"] <= SCREEN and contents["top"] >= summary["bottom"]
    assert findings["top"] <= SCREEN  # the findings begin on the first screen
    assert _links_land(page) == []
    frameworks = page.eval_on_selector_all("#summary table.summary tbody tr", "rs => rs.map(r => r.innerText)")
    assert len(frameworks) == 3 and all("%" in row for row in frameworks)
    assert "quotes-pricing" in page.inner_text("#summary")  # the one service whose SLA is breached now
    page.screenshot(path=str(pages["shots"] / "report-1280.png"))
