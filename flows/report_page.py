"""``dwh report``: one published edition as one self-contained, offline HTML page.

The page reads only the published database (read-only) and shows what the annual report
shows: per theme, in the report's order, each indicator with target, realisation, % of
target and status; a chart per indicator from 2019 to the report year with the
realisation against the target; the years in which old and new registration systems
both contributed; the revision against another edition; table 2; the quality gate's
results ("Kwaliteit"); and a footer with the run, the publication time and the deliveries
used. Charts are Vega-Lite specifications rendered to SVG by vl-convert in this process,
so the page carries no JavaScript and loads nothing from the internet
(docs/decisions/0011-report-page-and-old-clients.md).

Every figure is written out in full in Dutch notation (``1.656``, ``€ 133.896.062,22``,
``40,9%``); nothing is abbreviated.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from flows.errors import DwhError
from flows.settings import Settings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
STATUS_CLASS = {"behaald": "met", "niet behaald": "missed", "geen doelstelling": "none"}
UNIT_TITLE = {"count": "aantal", "euro": "euro", "percent": "procent"}
SEVERITY = {"critical": "blokkerend", "warning": "waarschuwing"}
# The seizures whose value is still unknown are shown beside the euro figure.
UNVALUED = {"beslag_strafrechtelijk_eur": "beslag_ongewaardeerd"}
CHART_COLOURS = {"één registratiesysteem": "#2f6f9f", "oud en nieuw systeem samen": "#e39b2d"}


# --- Dutch notation -------------------------------------------------------------------


def _grouped(value: Decimal, decimals: int) -> str:
    text = f"{abs(value):,.{decimals}f}"  # 133,896,062.22
    text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return ("-" if value < 0 else "") + text


def format_value(value: Decimal | float | int | None, unit: str) -> str:
    """A figure in full Dutch notation: ``1.656``, ``€ 133.896.062,22``, ``40,9%``."""
    if value is None:
        return "–"
    number = Decimal(str(value))
    if unit == "euro":
        text = _grouped(number, 2)
        return f"-€ {text[1:]}" if text.startswith("-") else f"€ {text}"
    if unit == "percent":
        return _grouped(number, 1) + "%"
    return _grouped(number, 0)


def format_difference(now: Decimal | None, then: Decimal | None, unit: str) -> str:
    if now is None or then is None:
        return "–"
    difference = now - then
    if difference == 0:
        return "0"
    text = format_value(abs(difference), "count" if unit == "percent" else unit)
    if unit == "percent":
        text = _grouped(abs(difference), 1) + " procentpunt"
    return ("+" if difference > 0 else "-") + text


def format_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: datetime) -> str:
    local = moment.astimezone(AMSTERDAM)
    return f"{format_date(local.date())}, {local:%H:%M} uur"


# --- What the page shows --------------------------------------------------------------


@dataclass
class Edition:
    peildatum: date
    run_id: str
    published_at: datetime
    report_year: int  # the headline year: the last year that ended by the peildatum
    figures: list[dict[str, Any]]  # report.indicators joined to dim_indicatoren


def headline_year(peildatum: date) -> int:
    """The year a policy reader asks about at this peildatum.

    The last calendar year complete at the peildatum (the annual report 2022 used
    peildatum 2023-02-15), or the peildatum's own year when it is 31 December; in 2019,
    the first report year, the running year.
    """
    if (peildatum.month, peildatum.day) == (12, 31):
        return peildatum.year
    return max(peildatum.year - 1, 2019)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _editions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _rows(con, "select * from meta.editions order by peildatum", [])


def _load_edition(con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> Edition:
    figures = _rows(
        con,
        """
        select i.*, d.label, d.theme_label, d.report_order, d.definition
        from report.indicators as i
        inner join marts.dim_indicatoren as d using (indicator_code)
        where i.peildatum = ?
        order by d.report_order, i.report_year
        """,
        [entry["peildatum"]],
    )
    return Edition(
        peildatum=entry["peildatum"],
        run_id=entry["run_id"],
        published_at=entry["published_at"],
        report_year=headline_year(entry["peildatum"]),
        figures=figures,
    )


def _choose(
    editions: list[dict[str, Any]], peildatum: date | None, compare: date | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    by_date = {entry["peildatum"]: entry for entry in editions}
    published = ", ".join(str(day) for day in by_date) or "none"
    if not editions:
        raise DwhError("nothing is published yet: meta.editions is empty (run 'dwh run' first)")
    chosen = peildatum or editions[-1]["peildatum"]
    if chosen not in by_date:
        raise DwhError(f"peildatum {chosen} is not a published edition (published: {published})")
    if compare is None:
        earlier = [day for day in by_date if day < chosen]
        return by_date[chosen], by_date[earlier[-1]] if earlier else None
    if compare not in by_date:
        raise DwhError(f"--compare {compare} is not a published edition (published: {published})")
    if compare == chosen:
        raise DwhError(f"--compare {compare} is the edition itself; name another edition")
    return by_date[chosen], by_date[compare]


# --- Charts ---------------------------------------------------------------------------


def chart_spec(figures: list[dict[str, Any]], peildatum: date) -> dict[str, Any]:
    """Vega-Lite: the realisation per year as bars, the target as a dashed line."""
    unit = figures[0]["unit"]
    values = []
    for figure in figures:
        year = figure["report_year"]
        running = year == peildatum.year and (peildatum.month, peildatum.day) != (12, 31)
        values.append(
            {
                "jaar": f"{year} (lopend)" if running else str(year),
                "realisatie": None
                if figure["realisation"] is None
                else float(figure["realisation"]),
                "doelstelling": None if figure["target"] is None else float(figure["target"]),
                "registratie": "oud en nieuw systeem samen"
                if "+" in (figure["registration_systems"] or "")
                else "één registratiesysteem",
                "systemen": figure["registration_systems"],
            }
        )
    axis_format = {"euro": "$,.0f", "percent": ",.1f", "count": ",.0f"}[unit]
    x = {"field": "jaar", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 420,
        "height": 170,
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "bar", "width": {"band": 0.6}},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "realisatie",
                        "type": "quantitative",
                        "title": f"realisatie ({UNIT_TITLE[unit]})",
                        "axis": {"format": axis_format, "tickCount": 4},
                    },
                    "color": {
                        "field": "registratie",
                        "type": "nominal",
                        "title": None,
                        "scale": {
                            "domain": list(CHART_COLOURS),
                            "range": list(CHART_COLOURS.values()),
                        },
                        "legend": {"orient": "bottom"},
                    },
                },
            },
            {
                "mark": {
                    "type": "line",
                    "color": "#222",
                    "strokeDash": [6, 4],
                    "point": {"shape": "stroke", "color": "#222"},
                },
                "encoding": {
                    "x": x,
                    "y": {"field": "doelstelling", "type": "quantitative"},
                },
            },
        ],
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }


def render_charts(specs: list[dict[str, Any]]) -> list[str]:
    import vl_convert

    return [vl_convert.vegalite_to_svg(spec, format_locale="nl-NL") for spec in specs]


# --- HTML -----------------------------------------------------------------------------

CSS = """
body { font-family: "Liberation Sans", Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1b1b1b; line-height: 1.4; padding: 0 1rem; }
h1 { color: #154273; margin-bottom: .2rem; } h2 { color: #154273; border-bottom: 2px solid #154273;
     padding-bottom: .2rem; margin-top: 2.5rem; } h3 { margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
.status { padding: .1rem .5rem; border-radius: .6rem; white-space: nowrap; font-size: .85rem; }
.status.met { background: #d7eed9; color: #1e5b25; }
.status.missed { background: #f6d4d2; color: #8a1c14; }
.status.none { background: #e6e6e6; color: #444; }
.changed { background: #fff4d6; } .note { color: #555; font-size: .9rem; }
figure.chart { display: inline-block; margin: .5rem 1rem 1rem 0; vertical-align: top; }
figcaption { font-weight: bold; margin-bottom: .2rem; max-width: 500px; }
.transition { color: #a86400; } footer { margin-top: 3rem; border-top: 1px solid #999;
  padding-top: 1rem; font-size: .9rem; color: #333; }
nav a { margin-right: 1rem; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _status(status: str) -> str:
    return f'<span class="status {STATUS_CLASS.get(status, "none")}">{_e(status)}</span>'


def _pct(value: Decimal | None) -> str:
    return format_value(value, "percent")


def _theme_sections(edition: Edition, svgs: dict[str, str]) -> str:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for figure in edition.figures:
        by_code.setdefault(figure["indicator_code"], []).append(figure)
    themes: dict[tuple[str, str], list[str]] = {}
    for code, figures in by_code.items():
        themes.setdefault((figures[0]["theme"], figures[0]["theme_label"]), []).append(code)
    parts = []
    for (theme_code, theme), codes in themes.items():
        rows = []
        for code in codes:
            year = next((f for f in by_code[code] if f["report_year"] == edition.report_year), None)
            if year is None:
                continue
            unvalued = ""
            if code in UNVALUED:
                other = next(
                    (
                        f
                        for f in by_code.get(UNVALUED[code], [])
                        if f["report_year"] == edition.report_year
                    ),
                    None,
                )
                if other is not None:
                    unvalued = (
                        f'<br><span class="note">waarvan '
                        f"{format_value(other['realisation'], 'count')} beslagen nog zonder "
                        f"waardering (telt als € 0,00)</span>"
                    )
            systems = year["registration_systems"] or ""
            rows.append(
                f'<tr data-indicator="{_e(code)}"><td>{_e(year["label"])}</td>'
                f'<td class="num">{format_value(year["target"], year["unit"])}</td>'
                f'<td class="num">{format_value(year["realisation"], year["unit"])}{unvalued}</td>'
                f'<td class="num">{_pct(year["realisation_pct_of_target"])}</td>'
                f"<td>{_status(year['status'])}</td>"
                f'<td class="{"transition" if "+" in systems else ""}">{_e(systems)}</td></tr>'
            )
        charts = []
        for code in codes:
            figures = by_code[code]
            transition = [
                str(f["report_year"]) for f in figures if "+" in (f["registration_systems"] or "")
            ]
            note = (
                f'<div class="note transition">Oude en nieuwe registratiesystemen samen in '
                f"{', '.join(transition)}.</div>"
                if transition
                else ""
            )
            charts.append(
                f'<figure class="chart" data-indicator="{_e(code)}">'
                f"<figcaption>{_e(figures[0]['label'])}</figcaption>{svgs[code]}{note}</figure>"
            )
        parts.append(
            f'<section class="theme" id="thema-{_e(theme_code)}"><h2>{_e(theme)}</h2>'
            f"<table><thead><tr><th>Indicator ({edition.report_year})</th>"
            '<th class="num">Doelstelling</th><th class="num">Realisatie</th>'
            '<th class="num">% van doelstelling</th><th>Status</th>'
            f"<th>Registratiesystemen</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"{''.join(charts)}</section>"
        )
    return "".join(parts)


def _full_table(edition: Edition) -> str:
    rows = "".join(
        f'<tr data-indicator="{_e(f["indicator_code"])}" data-year="{f["report_year"]}">'
        f"<td>{_e(f['theme_label'])}</td><td>{_e(f['label'])}</td><td>{f['report_year']}</td>"
        f'<td class="num">{format_value(f["target"], f["unit"])}</td>'
        f'<td class="num realisation">{format_value(f["realisation"], f["unit"])}</td>'
        f'<td class="num">{_pct(f["realisation_pct_of_target"])}</td>'
        f"<td>{_status(f['status'])}</td><td>{_e(f['registration_systems'])}</td></tr>"
        for f in edition.figures
    )
    return (
        '<section id="alle-cijfers"><h2>Alle cijfers van deze editie</h2>'
        '<table class="full"><thead><tr><th>Thema</th><th>Indicator</th><th>Jaar</th>'
        '<th class="num">Doelstelling</th><th class="num">Realisatie</th>'
        '<th class="num">% van doelstelling</th><th>Status</th><th>Registratiesystemen</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _revision(edition: Edition, earlier: Edition | None) -> str:
    if earlier is None:
        return (
            '<section id="revisie"><h2>Revisie</h2><p>Er is geen eerdere editie om mee te '
            "vergelijken.</p></section>"
        )
    then = {(f["indicator_code"], f["report_year"]): f for f in earlier.figures}
    rows, changed = [], 0
    for f in edition.figures:
        old = then.get((f["indicator_code"], f["report_year"]))
        before = None if old is None else old["realisation"]
        differs = old is None or before != f["realisation"]
        then_text = "niet in die editie" if old is None else format_value(before, f["unit"])
        changed += differs
        rows.append(
            f'<tr class="{"changed" if differs else ""}" data-indicator="{_e(f["indicator_code"])}"'
            f' data-year="{f["report_year"]}"><td>{_e(f["label"])}</td><td>{f["report_year"]}</td>'
            f'<td class="num">{then_text}</td>'
            f'<td class="num">{format_value(f["realisation"], f["unit"])}</td>'
            f'<td class="num">{format_difference(f["realisation"], before, f["unit"])}</td></tr>'
        )
    return (
        f'<section id="revisie"><h2>Revisie ten opzichte van de editie van '
        f"{format_date(earlier.peildatum)}</h2>"
        f"<p>{changed} van de {len(edition.figures)} cijfers zijn anders dan in de editie met "
        f"peildatum {format_date(earlier.peildatum)}: late leveringen en correcties van de "
        f"registratiesystemen.</p><table><thead><tr><th>Indicator</th><th>Jaar</th>"
        f'<th class="num">Toen ({format_date(earlier.peildatum)})</th>'
        f'<th class="num">Nu ({format_date(edition.peildatum)})</th>'
        f'<th class="num">Verschil</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


def _periodic_reports(con: duckdb.DuckDBPyConnection) -> str:
    rows = "".join(
        f"<tr><td>{_e(r['theme'])}</td><td>{_e(r['article'])}</td><td>{_e(r['year'])}</td>"
        f"<td>{_e(r['kind'])}</td><td>"
        + (f'<a href="{_e(r["hyperlink"])}">{_e(r["hyperlink"])}</a>' if r["hyperlink"] else "")
        + f"</td><td>{_e(r['remark'])}</td></tr>"
        for r in _rows(con, "select * from report.periodieke_rapportages", [])
    )
    return (
        '<section id="tabel-2"><h2>Tabel 2 Periodieke rapportages en beleidsdoorlichtingen</h2>'
        "<table><thead><tr><th>Thema</th><th>Artikel</th><th>Jaar</th><th>Soort</th>"
        f"<th>Vindplaats</th><th>Opmerking</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _quality(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        outcome = "geslaagd" if r["success"] else SEVERITY.get(r["severity"], r["severity"])
        css = "met" if r["success"] else ("missed" if r["severity"] == "critical" else "none")
        rows.append(
            f'<tr class="expectation"><td>{_e(r["suite"])}</td><td>{_e(r["expectation_type"])}</td>'
            f"<td>{_e(r['column_name'])}</td>"
            f"<td>{_e(SEVERITY.get(r['severity'], r['severity']))}</td>"
            f'<td><span class="status {css}">{_e(outcome)}</span></td>'
            f'<td class="num">{format_value(r["unexpected_count"], "count")}</td>'
            f'<td>{_e(r["failure"])}<br><span class="note">{_e(r["unexpected_examples"])}</span>'
            "</td></tr>"
        )
    return (
        '<section id="kwaliteit"><h2>Kwaliteit</h2><p>Alle controles van de kwaliteitspoort '
        "voor deze editie (Great Expectations), met hun uitkomst, het aantal afwijkende regels en "
        "de bestanden, regels of cijfers die zij noemden.</p>"
        "<table><thead><tr><th>Suite</th><th>Controle</th><th>Kolom</th><th>Ernst</th>"
        '<th>Uitkomst</th><th class="num">Afwijkend</th><th>Bevinding</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _footer(con: duckdb.DuckDBPyConnection, edition: Edition, results: list[dict[str, Any]]) -> str:
    deliveries = _rows(
        con,
        """
        select source_system, count(*) as files, max(delivery_date) as last_delivery
        from audit.deliveries
        where status = 'loaded' and delivery_date <= ?
        group by source_system order by source_system
        """,
        [edition.peildatum],
    )
    used = "; ".join(
        f"{_e(d['source_system'].upper())}: {format_value(d['files'], 'count')} bestanden, "
        f"laatste levering {format_date(d['last_delivery'])}"
        for d in deliveries
    )
    warnings = [r for r in results if not r["success"] and r["severity"] == "warning"]
    blocking = [r for r in results if not r["success"] and r["severity"] == "critical"]
    gate = (
        f"{len(results)} controles, {len(blocking)} blokkerend, {len(warnings)} waarschuwingen"
        if results
        else "geen resultaten van de kwaliteitspoort gevonden voor deze run"
    )
    warning_items = "".join(f"<li>{_e(w['failure'])}</li>" for w in warnings)
    return (
        f"<footer><p>Run <code>{_e(edition.run_id)}</code>, gepubliceerd op "
        f"{format_moment(edition.published_at)}.</p>"
        f"<p>Gebruikte leveringen per systeem (tot en met de peildatum): {used or 'geen'}.</p>"
        f"<p>Kwaliteitspoort: {gate}.</p>"
        + (f"<ul>{warning_items}</ul>" if warning_items else "")
        + "</footer>"
    )


def render_page(con: duckdb.DuckDBPyConnection, edition: Edition, earlier: Edition | None) -> str:
    by_code: dict[str, list[dict[str, Any]]] = {}
    for figure in edition.figures:
        by_code.setdefault(figure["indicator_code"], []).append(figure)
    codes = list(by_code)
    svgs = dict(
        zip(
            codes,
            render_charts([chart_spec(by_code[code], edition.peildatum) for code in codes]),
            strict=True,
        )
    )
    results = _rows(
        con,
        "select * from meta.validation_results where run_id = ? "
        "order by suite, expectation_type, column_name",
        [edition.run_id],
    )
    title = f"Politie-indicatoren, editie peildatum {format_date(edition.peildatum)}"
    return (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f"<p>Doelstelling en realisatie per thema, zoals in het jaarverslag (artikel 31 Politie). "
        f"Verslagjaar {edition.report_year}; alle cijfers zoals bekend op "
        f"{format_date(edition.peildatum)}.</p>"
        '<nav><a href="#alle-cijfers">Alle cijfers</a><a href="#revisie">Revisie</a>'
        '<a href="#tabel-2">Tabel 2</a><a href="#kwaliteit">Kwaliteit</a>'
        '<a href="dictionary.html">Datawoordenboek</a></nav></header>'
        '<p class="note">In de grafieken: staven zijn de realisatie, de gestreepte lijn is de '
        "doelstelling; oranje staven zijn jaren waarin oude en nieuwe registratiesystemen samen "
        "leverden (bijvoorbeeld door de overstap van BVH naar BVO).</p>"
        f"{_theme_sections(edition, svgs)}{_full_table(edition)}{_revision(edition, earlier)}"
        f"{_periodic_reports(con)}{_quality(results)}{_footer(con, edition, results)}"
        "</body></html>"
    )


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_report(
    settings: Settings, peildatum: date | None = None, compare: date | None = None
) -> Path:
    """Write ``published/report-<peildatum>.html`` (and ``report.html`` for the latest).

    Default: the latest published edition, compared with the edition published before it.
    Beside it, ``published/dictionary.html``: the data dictionary (flows/dictionary.py).
    Returns the path of the edition's page.
    """
    published = settings.published_db
    if not published.exists():
        raise DwhError(f"nothing is published yet: {published} does not exist (run 'dwh run')")
    con = duckdb.connect(str(published), read_only=True)
    try:
        editions = _editions(con)
        chosen, other = _choose(editions, peildatum, compare)
        edition = _load_edition(con, chosen)
        earlier = None if other is None else _load_edition(con, other)
        page = render_page(con, edition, earlier)
    finally:
        con.close()
    target = published.parent / f"report-{edition.peildatum.isoformat()}.html"
    _write(target, page)
    manifest = settings.dbt_target_dir / "manifest.json"
    if manifest.exists():  # dbt's docs of the last build: the page links to them
        from flows.dictionary import write_dictionary

        write_dictionary(published, manifest, published.parent / "dictionary.html")
    if edition.peildatum == editions[-1]["peildatum"]:
        _write(published.parent / "report.html", page)
    return target


def write_report_after_publish(settings: Settings, peildatum: date) -> Path | None:
    """``dwh run``'s last step: the page of the edition just published.

    The edition is published by then, so a page that cannot be written does not turn the
    run into a failure: the reason is printed and ``dwh report`` writes the page later.
    """
    import sys

    try:
        return write_report(settings, peildatum)
    except Exception as exc:  # noqa: BLE001 - the edition is published; say why, go on
        print(
            f"dwh run: edition {peildatum} is published, but its report page was not "
            f"written ({type(exc).__name__}: {exc}); run 'dwh report' to write it",
            file=sys.stderr,
        )
        return None
