"""Stakeholders across projects (list Interessentregister; docs/portfolio.md, "Report outputs")."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from veiviser.portfolio.frames import is_missing, prepare
from veiviser.schemas.names import F

SCALE = ("Stor", "Middels", "Liten", "Ingen")
BLANK = "(blank)"


def _clean(series: pd.Series) -> pd.Series:
    return series.map(lambda v: BLANK if is_missing(v) else str(v).strip()).astype("object")


def stakeholder_counts(
    stakeholders: pd.DataFrame | None,
    by: Sequence[str] = (str(F.STAKEHOLDER_GROUP),),
) -> pd.DataFrame:
    """Number of stakeholder rows and of projects per combination of ``by`` (blank = «(blank)»)."""
    df = prepare("stakeholders", stakeholders)
    cols = list(by)
    if df.empty:
        return pd.DataFrame(columns=[*cols, "stakeholders", "projects"])
    for col in cols:
        df[col] = _clean(df[col]) if col in df.columns else BLANK
    out = df.groupby(cols, as_index=False).agg(
        stakeholders=("source_key", "size"), projects=("project_key", "nunique")
    )
    return out.sort_values(["stakeholders", *cols], ascending=[False] + [True] * len(cols)).reset_index(
        drop=True
    )


def influence_grid(stakeholders: pd.DataFrame | None, project_key: str | None = None) -> pd.DataFrame:
    """Counts by «Påvirkes i hvilken grad» (rows) × «Mulighet til påvirkning» (columns), Stor→Ingen."""
    df = prepare("stakeholders", stakeholders)
    if project_key is not None:
        df = df[df["project_key"] == project_key]
    order = [*SCALE, BLANK]
    rows = _clean(df[F.STAKEHOLDER_INFLUENCE])
    cols = _clean(df[F.STAKEHOLDER_INFLUENCE_POSSIBILTY])
    grid = pd.crosstab(rows, cols) if len(df) else pd.DataFrame()
    grid = grid.reindex(index=order, columns=order, fill_value=0).fillna(0).astype(int)
    grid.index.name = str(F.STAKEHOLDER_INFLUENCE)
    grid.columns.name = str(F.STAKEHOLDER_INFLUENCE_POSSIBILTY)
    return grid


def _match_key(title: object) -> str:
    return " ".join(str(title).split()).casefold()


def shared_stakeholders(stakeholders: pd.DataFrame | None, *, min_projects: int = 2) -> pd.DataFrame:
    """Stakeholders appearing in at least ``min_projects`` projects, matched case-insensitively on
    the title (surrounding and repeated spaces ignored); most projects first."""
    df = prepare("stakeholders", stakeholders)
    columns = ["stakeholder", "projects", "project_keys", "project_titles", "spellings", "groups"]
    df = df[~df["Title"].map(is_missing)]
    if df.empty:
        return pd.DataFrame(columns=columns)
    df = df.assign(
        _key=df["Title"].map(_match_key), _title=df["Title"].map(lambda t: " ".join(str(t).split()))
    )
    rows = []
    for _, part in df.groupby("_key", sort=True):
        projects = sorted(part["project_key"].dropna().unique())
        if len(projects) < min_projects:
            continue
        spellings = part["_title"].value_counts()
        # Most frequent spelling; on a tie prefer mixed case («Brukerrådet» over «BRUKERRÅDET»).
        top = min(spellings.index, key=lambda t: (-spellings[t], t.isupper() or t.islower(), t))
        titles = part.drop_duplicates("project_key").set_index("project_key")["project_title"]
        rows.append(
            {
                "stakeholder": top,
                "projects": len(projects),
                "project_keys": projects,
                "project_titles": [None if is_missing(titles.get(p)) else titles.get(p) for p in projects],
                "spellings": sorted(spellings.index),
                "groups": sorted({str(g) for g in part[F.STAKEHOLDER_GROUP] if not is_missing(g)}),
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["projects", "stakeholder"], ascending=[False, True]).reset_index(drop=True)
