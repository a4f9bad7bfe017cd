"""The self-contained HTML portfolio report: one file, inline CSS and SVG, no scripts, no external assets.

Sections (each an ``<section>`` with a stable id; an empty one says «Ingen data» and why):
``oversikt``, ``risiko``, ``gevinster``, ``planlagt-realisert``, ``prioritering``, ``itposmo``,
``interessenter``, ``datakvalitet``, ``endringer``. Every chart has a table alternative.
All user text is escaped (titles come from SharePoint lists).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

import pandas as pd

from veiviser.portfolio.benefits import ACHIEVED, BEHIND, NO_INDICATORS, ON_TRACK, STALE
from veiviser.portfolio.frames import is_missing
from veiviser.portfolio.itposmo import DIMENSION_KEYS, DIMENSIONS
from veiviser.portfolio.reports import benefit_tree, charts
from veiviser.portfolio.reports.inert import CONTENT_SECURITY_POLICY
from veiviser.portfolio.reports.tables import (
    ViewTable,
    display,
    nb_status,
    number_nb,
    problems_by_project,
    view_tables,
)
from veiviser.portfolio.reports.views import ReportViews
from veiviser.portfolio.risks import (
    OPPORTUNITY,
    OPPORTUNITY_CONSEQUENCE_LABELS,
    OPPORTUNITY_PROBABILITY_LABELS,
    RISK,
    RISK_CONSEQUENCE_LABELS,
    RISK_PROBABILITY_LABELS,
)
from veiviser.portfolio.words import NO_UNIT, say
from veiviser.schemas.names import F

SECTIONS = (
    ("oversikt", "Oversikt"),
    ("risiko", "Risikobilde"),
    ("gevinster", "Gevinstrealisering"),
    ("planlagt-realisert", "Planlagt mot realisert"),
    ("prioritering", "Prioritering"),
    ("itposmo", "ITPOSMO"),
    ("interessenter", "Interessenter"),
    ("datakvalitet", "Datakvalitet"),
    ("endringer", "Endringer"),
)

CSS = """
:root{--ink:#1b1b1b;--muted:#555;--line:#d9dde3;--bg:#f4f6f9;--card:#fff;--accent:#1F4E79}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header.top{background:var(--accent);color:#fff;padding:24px 32px 16px}
header.top h1{margin:0 0 4px;font-size:28px}
header.top p{margin:0;color:#e8eef5}
nav{background:#163a5c;padding:8px 32px;position:sticky;top:0;z-index:1}
nav a{color:#fff;margin-right:18px;text-decoration:none;font-size:14px}
nav a:hover,nav a:focus{text-decoration:underline}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 24px;margin:18px 0}
h2{margin:4px 0 12px;font-size:22px;color:var(--accent)}
h3{margin:18px 0 8px;font-size:17px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.kpi{border:1px solid var(--line);border-left:6px solid var(--accent);border-radius:6px;padding:10px 14px;background:#fafbfc}
.kpi .v{font-size:30px;font-weight:700;line-height:1.1}
.kpi .l{color:var(--muted);font-size:13px}
.kpi.bad{border-left-color:#C62828}.kpi.warn{border-left-color:#E69F00}.kpi.good{border-left-color:#2E7D32}
.charts{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
svg.chart{max-width:100%;height:auto;background:#fff}
.no-data{padding:14px 16px;background:#fff8e1;border:1px dashed #b8860b;border-radius:6px;color:#5d4300}
.note{color:var(--muted);font-size:13px;margin:6px 0}
.warning{background:#fff3e0;border-left:4px solid #E69F00;padding:8px 12px;margin:8px 0}
details{margin:10px 0}
summary{cursor:pointer;color:var(--accent);font-weight:600}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0;min-width:40%}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.sev-error{color:#B00020;font-weight:600}.sev-warning{color:#8a5a00}
td.gap{text-align:center;font-weight:600}
.status{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600}
.s-good{background:#dcedc8;color:#1b5e20}.s-bad{background:#ffcdd2;color:#8e0000}.s-warn{background:#ffe0b2;color:#6d3d00}
footer{color:var(--muted);font-size:12px;text-align:center;padding:16px}
"""


def render_html(views: ReportViews, *, generated: datetime | None = None) -> str:
    """The complete HTML document for ``views``."""
    generated = generated or datetime.now().replace(microsecond=0)
    tables = {t.sheet: t for t in view_tables(views)}
    body = [
        _overview(views),
        _risk_section(views, tables),
        _benefit_section(views, tables),
        _planned_section(views, tables),
        _priority_section(views, tables),
        _itposmo_section(views, tables),
        _stakeholder_section(tables),
        _quality_section(views, tables),
        _changes_section(views, tables),
    ]
    nav = "".join(f'<a href="#{sid}">{escape(name)}</a>' for sid, name in SECTIONS)
    source = f" · Kilde: {escape(views.source)}" if views.source else ""
    return (
        '<!DOCTYPE html>\n<html lang="nb"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(views.title)} per {views.as_of:%Y-%m-%d}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><h1>{escape(views.title)}</h1><p>Data per {views.as_of:%Y-%m-%d} · endringer siden '
        f"{views.since:%Y-%m-%d}{source}</p></header>"
        f'<nav aria-label="Innhold">{nav}</nav><main>{"".join(body)}</main>'
        f"<footer>Laget av veiviser {generated:%Y-%m-%d %H:%M}. Alle tall er beregnet for datoen over og kan "
        "gjenskapes fra historikken.</footer></body></html>\n"
    )


# --- helpers -------------------------------------------------------------------------------------


def _section(sid: str, body: str, intro: str = "") -> str:
    name = dict(SECTIONS)[sid]
    intro_html = f'<p class="note">{intro}</p>' if intro else ""
    return f'<section id="{sid}" aria-labelledby="h-{sid}"><h2 id="h-{sid}">{escape(name)}</h2>{intro_html}{body}</section>'


def _no_data(message: str) -> str:
    return f'<p class="no-data" role="status"><strong>Ingen data.</strong> {escape(message)}</p>'


def _table(table: ViewTable, *, limit: int | None = None, caption: str | None = None) -> str:
    if table.empty:
        return _no_data(f"{table.title}: ingen rader.")
    rows = table.records()
    shown = rows[:limit] if limit else rows
    head = "".join(f'<th scope="col">{escape(c.label)}</th>' for c in table.columns)
    body = []
    for values in shown:
        cells = []
        for col, value in zip(table.columns, values, strict=True):
            text = escape(display(value, col.fmt))
            numeric = col.fmt in ("int", "number", "percent") and isinstance(value, int | float)
            cls = ' class="n"' if numeric else ""
            if col.key == "severity" and value:
                cls = f' class="sev-{escape(str(value))}"'
            cells.append(f"<td{cls}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = (
        f'<p class="note">Viser {len(shown)} av {len(rows)} rader; alle finnes i Excel-arbeidsboken.</p>'
        if len(shown) < len(rows)
        else ""
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}'


def _alt(content: str, label: str = "Vis som tabell") -> str:
    return f"<details><summary>{escape(label)}</summary>{content}</details>"


def _simple_table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric: Iterable[int] = ()) -> str:
    num = set(numeric)
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in num else ''}>{escape(str(c))}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _kpi(value: object, label: str, tone: str = "") -> str:
    return f'<div class="kpi {tone}"><div class="v">{escape(str(value))}</div><div class="l">{escape(label)}</div></div>'


# --- sections ------------------------------------------------------------------------------------


def _overview(v: ReportViews) -> str:
    no_benefits = v.benefits is None or v.benefits.benefits.empty
    if v.projects.empty and (v.risks is None or v.risks.empty) and no_benefits:
        return _section(
            "oversikt",
            _no_data(
                "Porteføljen har ingen prosjekter ennå. Kjør synkroniseringen, eller sjekk at "
                "prosjektene er knyttet til huben."
            ),
        )
    ben = v.benefits.benefits if v.benefits is not None else pd.DataFrame()
    status = ben["status"].value_counts() if not ben.empty else pd.Series(dtype=int)
    open_risks = int(((v.risks["kind"] == RISK) & ~v.risks["closed"]).sum()) if not v.risks.empty else 0
    errors = sum(1 for f in v.findings if f.severity == "error")
    tiles = [
        _kpi(len(v.projects), "prosjekter"),
        _kpi(open_risks, "åpne risikoer"),
        _kpi(
            len(v.unacceptable),
            "uakseptable risikoer (faktor > 10)",
            "bad" if len(v.unacceptable) else "good",
        ),
        _kpi(len(ben), "gevinster"),
        _kpi(
            int(status.get(ACHIEVED, 0) + status.get(ON_TRACK, 0)), "gevinster oppnådd eller i rute", "good"
        ),
        _kpi(
            int(status.get(BEHIND, 0) + status.get(STALE, 0)),
            "gevinster etter plan eller utdatert",
            "warn" if status.get(BEHIND, 0) + status.get(STALE, 0) else "good",
        ),
        _kpi(
            int(status.get(NO_INDICATORS, 0)),
            "gevinster uten måleindikator",
            "warn" if status.get(NO_INDICATORS, 0) else "good",
        ),
        _kpi(
            len(v.findings),
            f"funn i datakvalitet ({errors} feil)",
            "bad" if errors else ("warn" if v.findings else "good"),
        ),
    ]
    return _section(
        "oversikt",
        f'<div class="kpis">{"".join(tiles)}</div>',
        "Tallene gjelder hele porteføljen. Detaljer finnes i seksjonene under og i Excel-arbeidsboken.",
    )


def _risk_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    if not v.matrices or v.risks.empty:
        return _section(
            "risiko", _no_data("Ingen risikoer eller muligheter er registrert i Usikkerhet-listene.")
        )
    parts = []
    for kind, heading, xl, yl in (
        (RISK, "Risikoer", RISK_CONSEQUENCE_LABELS, RISK_PROBABILITY_LABELS),
        (OPPORTUNITY, "Muligheter", OPPORTUNITY_CONSEQUENCE_LABELS, OPPORTUNITY_PROBABILITY_LABELS),
    ):
        before, after = v.matrices[(kind, "before")], v.matrices[(kind, "after")]
        if int(before.cells["count"].sum()) + int(after.cells["count"].sum()) + len(before.outside) == 0:
            parts.append(f"<h3>{heading}</h3>" + _no_data(f"Ingen åpne {heading.lower()} i porteføljen."))
            continue
        svgs, alts = [], []
        for m, label in ((before, "før tiltak"), (after, "etter tiltak")):
            cells = m.cells.to_dict("records")
            counts = {(int(c["probability"]), int(c["consequence"])): int(c["count"]) for c in cells}
            colours = {(int(c["probability"]), int(c["consequence"])): str(c["colour"]) for c in cells}
            svgs.append(charts.heatmap(counts, colours, title=f"{heading} {label}", x_labels=xl, y_labels=yl))
            grid_rows = [
                [f"S={y}"] + [str(counts.get((y, x), 0)) for x in range(1, 6)] for y in range(5, 0, -1)
            ]
            alts.append(
                f"<h4>{heading} {label}</h4>"
                + _simple_table(
                    ["Sannsynlighet \\ Konsekvens", "1", "2", "3", "4", "5"], grid_rows, numeric=range(1, 6)
                )
            )
        outside = len(after.outside)
        note = (
            (
                f'<p class="note">{len(before.outside)} før tiltak og {outside} etter tiltak er ikke vurdert (0 eller tomt) '
                "eller har verdier utenfor 1–5, og står ikke i matrisen; se Datakvalitet.</p>"
            )
            if len(before.outside) or outside
            else ""
        )
        parts.append(
            f'<h3>{heading}</h3><div class="charts">{"".join(svgs)}</div>{note}{_alt("".join(alts))}'
        )
    parts.append("<h3>Uakseptable risikoer</h3>" + _table(tables["Uakseptable risikoer"], limit=25))
    parts.append("<h3>Risikoer uten tiltaksansvarlig</h3>" + _table(tables["Risikoer uten eier"], limit=25))
    return _section(
        "risiko",
        "".join(parts),
        "Antall åpne elementer per celle (sannsynlighet × konsekvens), farger som i Prosjektportalen. "
        "Lukkede («Ikke lenger aktuell») er ikke med.",
    )


def _benefit_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    a = v.benefits
    if a is None or a.benefits.empty:
        return _section("gevinster", _no_data("Ingen gevinster er registrert i porteføljen."))
    m = a.measurements
    m = m[m[F.MEASUREMENT_DATE].notna() & m["achievement_pct"].notna()] if not m.empty else m
    parts = []
    if m.empty:
        parts.append(
            _no_data(
                "Ingen målinger med beregnbar måloppnåelse ennå; kurvene vises når måleindikatorene har "
                "startverdi, ønsket verdi og minst én datert måling."
            )
        )
    else:
        svgs = []
        for project_key, part in m.groupby("project_key", sort=True):
            series = []
            for (_, title), ind in part.sort_values(F.MEASUREMENT_DATE).groupby(
                ["indicator_key", "indicator_title"], sort=True
            ):
                unit = ind[F.MEASUREMENT_UNIT].iloc[0]
                label = f"{title} ({unit})" if not is_missing(unit) else str(title)
                series.append(
                    charts.Series(
                        label,
                        [
                            (d.date(), float(p))
                            for d, p in zip(ind[F.MEASUREMENT_DATE], ind["achievement_pct"], strict=True)
                        ],
                    )
                )
            ptitle = part["project_title"].iloc[0]
            name = str(ptitle) if not is_missing(ptitle) else str(project_key)
            svgs.append(charts.realisation_curves(series, title=f"Måloppnåelse – {name}"))
        parts.append(f'<div class="charts">{"".join(svgs)}</div>')
        parts.append(
            '<p class="note">Kurvene er klippet til 0–100 % bare i tegningen: ▲ = over målet (overoppfyllelse), '
            "▼ = beveget seg i feil retning. Den virkelige verdien står i tabellen og i verktøytipset.</p>"
        )
        parts.append(_alt(_table(tables["Måloppnåelse"])))
    status = a.benefits["status"].map(nb_status).value_counts()
    parts.append(
        "<h3>Status per gevinst</h3>"
        + _simple_table(["Status", "Gevinster"], [[str(s), str(n)] for s, n in status.items()], numeric=[1])
    )
    parts.append(_alt(_table(tables["Gevinster"]), "Vis alle gevinster"))
    parts.append(benefit_tree.tree_html(a))
    parts.append(_alt(_table(tables["Gevinstkart"]), "Vis gevinstkartet som tabell"))
    return _section(
        "gevinster",
        "".join(parts),
        "Måloppnåelse = (målt − start) / (ønsket − start), per måleindikator over tid.",
    )


def _planned_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    pvr = v.planned_realised
    if pvr is None or pvr.empty:
        return _section("planlagt-realisert", _no_data("Ingen måleindikatorer med planlagt endring ennå."))
    parts = []
    for unit, part in pvr.groupby(F.MEASUREMENT_UNIT, sort=True):
        rows = [
            charts.PlannedRealised(
                f"{r['owner']} · {r['year']}",
                float(r["planned"]),
                None if is_missing(r["realised"]) else float(r["realised"]),
            )
            for r in part.to_dict("records")
            if not is_missing(r["planned"])
        ]
        if not rows:
            parts.append(
                f"<h3>{escape(str(unit))}</h3>"
                + _no_data("Ingen planlagt endring er fylt ut for denne enheten.")
            )
            continue
        label = "uten måleenhet" if unit == NO_UNIT else str(unit)
        parts.append(charts.planned_realised_bars(rows, title=f"Planlagt mot realisert: {label}", unit=label))
    parts.append(
        '<p class="note">Én figur per måleenhet, enheter blandes aldri. Søylene viser endring i målets retning '
        "(en reduksjon vises som et positivt beløp å redusere); tallene har riktig fortegn.</p>"
    )
    parts.append(_alt(_table(tables["Planlagt mot realisert"])))
    return _section(
        "planlagt-realisert",
        f'<div class="charts">{"".join(parts[:-2])}</div>' + "".join(parts[-2:]),
        "Per gevinsteier og år for realiseringstidspunktet.",
    )


def _priority_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    p = v.priority
    if p is None:
        return _section(
            "prioritering", _no_data("Ingen prosjekter har vurderinger mot prioriteringskriteriene.")
        )
    parts = []
    if p.uncertainty:
        parts.append(
            f'<div class="warning"><strong>Usikkerhet i modellen «{escape(p.model.name)}»:</strong> {escape(p.uncertainty)}</div>'
        )
    for w in p.warnings:
        text, todo = w.described()
        parts.append(f'<p class="note">{escape(text)} {escape(todo)}</p>')
    crits = [c.name for c in p.model.criteria]
    if p.ranking.empty:
        parts.append(_no_data("Ingen prosjekter kunne rangeres; se utelatte prosjekter under."))
    else:
        rows = [
            (
                str(r["project"]),
                [(c, float(r[c]) if not is_missing(r[c]) else 0.0) for c in crits],
                bool(r["complete"]),
            )
            for _, r in p.ranking.iterrows()
        ]
        parts.append(
            charts.stacked_scores(rows, crits, title="Rangering (poeng 0–100, bidrag per kriterium)")
        )
        if not p.ranking["complete"].all():
            parts.append(
                '<p class="note">* Ufullstendig vurdering (stiplet ramme): manglende kriterier teller som dårligste '
                "vurdering. Kolonnen «Poeng om manglende var best» viser spennet.</p>"
            )
        parts.append(_alt(_table(tables["Prioritering"])))
    if not p.excluded.empty:
        reasons = problems_by_project(p.problems)
        parts.append(
            "<h3>Utelatt fra rangeringen</h3>"
            + _simple_table(
                ["Prosjekt", "Årsak"],
                [
                    [r["project"], reasons.get(r["project"], say(r["reason"]))]
                    for _, r in p.excluded.iterrows()
                ],
            )
        )
    weights = ", ".join(f"{c} {number_nb(w, 0)}" for c, w in p.weights.items())
    parts.append(
        f'<p class="note">Vekter: {escape(weights)}. Skala {number_nb(p.model.scale_min, 0)}–{number_nb(p.model.scale_max, 0)}.</p>'
    )
    return _section("prioritering", "".join(parts))


def _gap_colour(value: float, threshold: float) -> str:
    if value > threshold:
        return "#FF6961" if value >= 8 else "#FFB54C"
    return "#F8D66D" if value >= 3 else "#DCEDC8"


def _itposmo_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    r = v.itposmo
    if r is None or r.table.empty:
        return _section("itposmo", _no_data("Ingen prosjekter har ITPOSMO-vurdering."))
    cfg = r.config
    t = r.table
    ok = t[t["problem"].isna()]
    parts = []
    if not ok.empty:
        parts.append(
            charts.itposmo_totals(
                [(str(p), float(t)) for p, t in zip(ok["project"], ok["total"], strict=True)],
                [(b.start, str(say(b.outcome))) for b in cfg.bands],
                title="Samlet avstand per prosjekt",
                max_total=cfg.scale_max * len(DIMENSION_KEYS),
                concern_total=cfg.total_concern_above,
            )
        )
    letters = {"objectives": "O1", "other_resources": "O2"}
    reasons = problems_by_project(r.problems)
    head = ["Prosjekt"] + [
        f'<abbr title="{escape(say(k))}">{letters.get(k, letter)}</abbr>' for k, letter, _ in DIMENSIONS
    ]
    head += ["Sum", "Sannsynlig utfall", "Største avstand først"]
    rows = []
    for _, x in t.iterrows():
        cells = [f"<td>{escape(str(x['project']))}</td>"]
        for k in DIMENSION_KEYS:
            val = x[k]
            if is_missing(val):
                cells.append('<td class="gap">–</td>')
            else:
                colour = _gap_colour(float(val), cfg.dimension_concern_above)
                out = float(val) > cfg.scale_max or float(val) < cfg.scale_min
                cells.append(
                    f'<td class="gap" style="background:{"#BDBDBD" if out else colour}">{number_nb(float(val), 0)}{"!" if out else ""}</td>'
                )
        if is_missing(x["total"]):
            reason = reasons.get(str(x["project"]), str(x["problem"]))
            cells.append(f'<td colspan="3" class="sev-error">Ikke summert: {escape(reason)}</td>')
        else:
            order = ", ".join(
                f"{letters.get(k, k[0].upper())} {number_nb(val, 0)}"
                for k, val in x["gaps_largest_first"][:3]
            )
            cells.append(f'<td class="n"><strong>{number_nb(float(x["total"]), 0)}</strong></td>')
            cells.append(f"<td>{escape(str(say(x['outcome'])))}</td><td>{escape(order)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    thead = "".join(f'<th scope="col">{h}</th>' for h in head)
    parts.append(
        f'<h3>Dimensjoner per prosjekt</h3><div class="table-wrap"><table><thead><tr>{thead}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    parts.append(
        f'<p class="note">Celler over {number_nb(cfg.dimension_concern_above, 0)} er markert oransje/rødt; en sum over '
        f"{number_nb(cfg.total_concern_above, 0)} gir grunn til bekymring (Heeks). «!» = utenfor skalaen "
        f"{number_nb(cfg.scale_min, 0)}–{number_nb(cfg.scale_max, 0)}.</p>"
    )
    return _section(
        "itposmo",
        "".join(parts),
        "Avstand mellom prosjektets forutsetninger og dagens virkelighet, 0–10 per dimensjon.",
    )


def _stakeholder_section(tables: dict[str, ViewTable]) -> str:
    table = tables["Interessenter"]
    if table.empty:
        return _section("interessenter", _no_data("Ingen interessenter er registrert i Interessentregister."))
    return _section("interessenter", _table(table, limit=50), "Antall interessenter på tvers av prosjektene.")


def _quality_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    parts = []
    findings, gaps = tables["Datakvalitet"], tables["Avvik gevinster"]
    if findings.empty and gaps.empty:
        return _section(
            "datakvalitet",
            _no_data(
                "Ingen funn: alle verdier kunne leses og alle gevinster har eier, "
                "måleindikatorer og målinger."
            ),
        )
    parts.append("<h3>Gevinster og indikatorer som mangler noe</h3>" + _table(gaps, limit=100))
    parts.append("<h3>Verdier som ikke kunne brukes</h3>" + _table(findings, limit=200))
    return _section(
        "datakvalitet",
        "".join(parts),
        "Hvert funn sier hvor (liste, prosjekt, element, felt) og hva som må gjøres.",
    )


def _changes_section(v: ReportViews, tables: dict[str, ViewTable]) -> str:
    if v.history is None or v.history.empty:
        return _section(
            "endringer", _no_data("Ingen historikk ennå: endringer vises etter minst to synkroniseringer.")
        )
    parts = []
    changes = tables["Endringer"]
    if changes.empty:
        parts.append(
            _no_data(
                f"Ingen nye, lukkede eller endrede risikoer, gevinster eller indikatorer siden {v.since:%Y-%m-%d}."
            )
        )
    else:
        counts = v.changes.groupby(["kind", "change"]).size()
        kinds, changes_ = counts.index.get_level_values("kind"), counts.index.get_level_values("change")
        summary = "; ".join(
            f"{n} {escape(nb_status(ch))} ({escape(str(say(k)))})"
            for k, ch, n in zip(kinds, changes_, counts, strict=True)
        )
        parts.append(f"<p>{summary}</p>" + _table(changes, limit=100))
    moves = tables["Målendringer"]
    if not moves.empty:
        parts.append("<h3>Endrede mål for måleindikatorer</h3>" + _table(moves, limit=100))
    return _section("endringer", "".join(parts), f"Fra {v.since:%Y-%m-%d} til {v.as_of:%Y-%m-%d}.")
