"""``dwh report``: the published edition as one offline page, checked in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from browser import visit

from flows.report_page import format_value, headline_year
from flows.settings import PROJECT_ROOT

from conftest import ANALYST_EDITIONS

ARTIFACTS = Path(os.environ.get("DWH_TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts"))
THEMES_IN_REPORT_ORDER = ["ondermijning", "mensenhandel", "cybercrime", "oskm", "executie"]


def dutch(value: Decimal | None, unit: str) -> str:
    """The test's own Dutch notation, written apart from the page's."""
    if value is None:
        return "–"
    digits = {"euro": 2, "percent": 1}.get(unit, 0)
    whole, _, fraction = f"{abs(value):.{digits}f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = ".".join(groups) + ("," + fraction if fraction else "")
    text = ("-" if value < 0 else "") + text
    return {"euro": f"€ {text}", "percent": f"{text}%"}.get(unit, text)


class PageParts(HTMLParser):
    """Collects the full table's realisation cells, the marks per chart and the sections."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.realisations: dict[tuple[str, int], str] = {}
        self.marks: dict[str, int] = {}
        self.themes: list[str] = []
        self.expectations = 0
        self.external: list[str] = []
        self._text: list[str] | None = None
        self._key: tuple[str, int] | None = None

    def _inside(self, tag: str, **attrs: str) -> dict[str, str] | None:
        for name, found in reversed(self.stack):
            if name == tag and all(found.get(k) == v for k, v in attrs.items()):
                return found
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag in {"script", "link", "img", "iframe"} and (found.get("src") or found.get("href")):
            self.external.append(found.get("src") or found["href"])
        if tag == "section" and "theme" in found.get("class", "").split():
            self.themes.append(found["id"].removeprefix("thema-"))
        if tag == "tr" and "expectation" in found.get("class", "").split():
            self.expectations += 1
        if tag == "path" and found.get("aria-roledescription") == "bar":
            figure = self._inside("figure")
            if figure is not None:
                code = figure["data-indicator"]
                self.marks[code] = self.marks.get(code, 0) + 1
        if tag == "td" and "realisation" in found.get("class", "").split():
            row = self._inside("tr")
            if self._inside("table", **{"class": "full"}) is not None and row is not None:
                self._key = (row["data-indicator"], int(row["data-year"]))
                self._text = []
        if tag not in {"path", "meta", "br", "rect", "line", "img", "link", "input"}:
            self.stack.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._text is not None and self._key is not None:
            self.realisations[self._key] = "".join(self._text).strip()
            self._text, self._key = None, None
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def published(home: Path, sql: str, *params: object) -> list[tuple]:
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (Decimal("1656.00"), "count", "1.656"),
        (Decimal("133896062.22"), "euro", "€ 133.896.062,22"),
        (Decimal("40.9"), "percent", "40,9%"),
        (Decimal("0.00"), "euro", "€ 0,00"),
        (Decimal("999.00"), "count", "999"),
        (None, "count", "–"),
    ],
)
def test_figures_are_written_in_full_in_dutch_notation(value, unit, text):
    assert format_value(value, unit) == text
    assert dutch(value, unit) == text


@pytest.mark.parametrize(
    ("peildatum", "year"),
    [("2023-02-15", 2022), ("2023-12-31", 2023), ("2022-03-31", 2021), ("2019-06-30", 2019)],
)
def test_the_headline_year_is_the_last_year_complete_at_the_peildatum(peildatum, year):
    assert headline_year(date.fromisoformat(peildatum)) == year


def test_the_browser_check_sees_a_page_that_loads_from_the_internet(tmp_path):
    # The guard of the offline check below: a page that needs a CDN shows errors.
    page = tmp_path / "cdn.html"
    page.write_text(
        '<html><head><script src="https://cdn.jsdelivr.net/npm/vega@5"></script></head>'
        "<body><p>x</p></body></html>",
        encoding="utf-8",
    )
    seen = visit(page)
    assert any("cdn.jsdelivr.net" in error for error in seen.errors), seen.errors


@pytest.mark.e2e
def test_dwh_run_writes_the_page_of_every_edition_and_the_latest_as_report_html(
    analyst_warehouse,
):
    folder = analyst_warehouse / "published"
    for peildatum in ANALYST_EDITIONS:
        assert (folder / f"report-{peildatum}.html").exists()
    latest = (folder / f"report-{ANALYST_EDITIONS[-1]}.html").read_bytes()
    assert (folder / "report.html").read_bytes() == latest
    assert (folder / "dictionary.html").exists()


@pytest.mark.e2e
def test_the_report_page_in_headless_chromium_offline(analyst_warehouse):
    home = analyst_warehouse
    peildatum = ANALYST_EDITIONS[-1]
    page = home / "published" / "report.html"
    seen = visit(page, until="#alle-cijfers")  # the screenshot: every theme with its charts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(seen.screenshot)
    assert seen.screenshot.startswith(b"\x89PNG")
    assert seen.errors == []

    parts = PageParts()
    parts.feed(seen.dom)
    figures = published(
        home,
        """
        select indicator_code, report_year, realisation, unit from report.indicators
        where peildatum = ? order by all
        """,
        peildatum,
    )
    assert len(figures) == 12 * 5
    expected = {(code, year): dutch(value, unit) for code, year, value, unit in figures}
    assert parts.realisations == expected
    drawn = {}
    for code, _, value, _ in figures:
        drawn[code] = drawn.get(code, 0) + (value is not None)
    assert parts.marks == drawn
    assert parts.themes == THEMES_IN_REPORT_ORDER
    run_id = published(home, "select run_id from meta.editions where peildatum = ?", peildatum)
    results = published(
        home, "select count(*) from meta.validation_results where run_id = ?", run_id[0][0]
    )
    assert parts.expectations == results[0][0] > 0
    assert parts.external == []


@pytest.mark.e2e
def test_the_page_shows_the_revision_against_the_edition_before(analyst_warehouse):
    text = (analyst_warehouse / "published" / "report.html").read_text(encoding="utf-8")
    assert "Revisie ten opzichte van de editie van 15 februari 2023" in text
    # 2022's seizures as known on 15 February 2023 and on 31 December 2023, side by side.
    then, now = (
        published(
            analyst_warehouse,
            """
            select realisation from report.indicators
            where peildatum = ? and report_year = 2022
              and indicator_code = 'beslag_strafrechtelijk_eur'
            """,
            peildatum,
        )[0][0]
        for peildatum in ANALYST_EDITIONS
    )
    row = text.split('data-indicator="beslag_strafrechtelijk_eur" data-year="2022">')[2]
    row = row.split("</tr>")[0]
    assert dutch(then, "euro") in row and dutch(now, "euro") in row


@pytest.mark.e2e
def test_dwh_report_renders_an_older_edition_and_refuses_an_unpublished_one(
    analyst_warehouse, tmp_path
):
    home = tmp_path / "dwh_home"
    shutil.copytree(analyst_warehouse / "published", home / "published")
    (home / "published" / "report.html").unlink()
    dwh = str(Path(sys.executable).with_name("dwh"))
    env = {**os.environ, "DWH_HOME": str(home)}
    older = subprocess.run(
        [dwh, "report", "--peildatum", ANALYST_EDITIONS[0]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert older.returncode == 0, older.stderr
    text = (home / "published" / f"report-{ANALYST_EDITIONS[0]}.html").read_text("utf-8")
    assert "Verslagjaar 2022" in text
    assert "Er is geen eerdere editie om mee te vergelijken." in text
    assert not (home / "published" / "report.html").exists()  # not the latest edition
    missing = subprocess.run(
        [dwh, "report", "--peildatum", "2020-01-01"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "2020-01-01 is not a published edition" in missing.stderr
    assert ANALYST_EDITIONS[0] in missing.stderr


def test_a_page_that_cannot_be_written_after_a_publish_is_reported_not_fatal(home, capsys):
    from flows.report_page import write_report_after_publish
    from flows.settings import Settings

    # Nothing is published in this home, so the page cannot be rendered.
    assert write_report_after_publish(Settings(), date(2023, 12, 31)) is None
    said = capsys.readouterr().err
    assert "edition 2023-12-31 is published, but its report page was not written" in said
    assert "run 'dwh report'" in said
