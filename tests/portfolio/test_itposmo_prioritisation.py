"""ITPOSMO bands and concerns; weighted prioritisation computed by hand; rating-file reading."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio.config import ConfigError
from veiviser.portfolio.inputs import InputFileError, parse_number, read_rows
from veiviser.portfolio.itposmo import DIMENSION_KEYS, assess_itposmo, load_itposmo_config, read_itposmo_file
from veiviser.portfolio.prioritisation import (
    Criterion,
    PriorityModel,
    load_model,
    read_priority_file,
    score_projects,
)


def _itposmo(project, values):
    return {"project": project, **dict(zip(DIMENSION_KEYS, values, strict=True))}


@pytest.mark.parametrize(
    ("total", "band", "outcome_start"),
    [
        (14, "0–14", "may well succeed"),
        (15, "15–28", "might be a partial failure"),
        (28, "15–28", "might be a partial failure"),
        (29, "29–42", "might fail totally"),
        (42, "29–42", "might fail totally"),
        (43, "43–56", "may well fail"),
        (56, "43–56", "may well fail"),
        (57, "57–70", "will almost certainly fail"),
        (70, "57–70", "will almost certainly fail"),
        (0, "0–14", "may well succeed"),
    ],
)
def test_itposmo_band_edges(total, band, outcome_start):
    q, r = divmod(total, 7)
    values = [q + (1 if i < r else 0) for i in range(7)]
    assert sum(values) == total
    t = assess_itposmo(pd.DataFrame([_itposmo("A", values)])).table
    assert t.loc[0, "total"] == total
    assert t.loc[0, "band"] == band
    assert t.loc[0, "outcome"].startswith(outcome_start)


def test_itposmo_concern_rules_and_order():
    df = pd.DataFrame(
        [
            _itposmo("Low", [1, 1, 1, 1, 1, 1, 1]),  # 7, no concern
            _itposmo("Dim", [0, 6, 0, 0, 0, 0, 0]),  # one dimension > 5
            _itposmo("Five", [5, 5, 5, 5, 0, 0, 0]),  # 20: not above 20, no dim > 5 -> no concern
            _itposmo("Tot", [3, 3, 3, 3, 3, 3, 3]),  # 21 > 20
            _itposmo("Big", [2, 9, 7, 6, 1, 0, 4]),  # 29
        ]
    )
    t = assess_itposmo(df).table.set_index("project")
    assert t.index.tolist() == ["Big", "Tot", "Five", "Low", "Dim"]  # largest total first (Low 7 > Dim 6)
    assert not t.loc["Low", "concern"]
    assert t.loc["Dim", "concern"] and t.loc["Dim", "concern_dimensions"] == ["technology"]
    assert not t.loc["Five", "concern"]
    assert (
        t.loc["Tot", "concern"] and t.loc["Tot", "total_concern"] and t.loc["Tot", "concern_dimensions"] == []
    )
    assert t.loc["Big", "concern_dimensions"] == ["technology", "processes", "objectives"]
    assert [k for k, _ in t.loc["Big", "gaps_largest_first"]][:4] == [
        "technology",
        "processes",
        "objectives",
        "other_resources",
    ]


def test_itposmo_bad_ratings_are_per_project_problems():
    df = pd.DataFrame(
        [
            _itposmo("Ok", [1, 2, 3, 4, 5, 6, 7]),
            _itposmo("High", [11, 0, 0, 0, 0, 0, 0]),
            _itposmo("Gap", [1, None, 1, 1, 1, 1, 1]),
            _itposmo("Text", [1, 1, "mye", 1, 1, 1, 1]),
        ]
    )
    r = assess_itposmo(df)
    t = r.table.set_index("project")
    assert t.loc["Ok", "total"] == 28
    for p in ("High", "Gap", "Text"):
        assert pd.isna(t.loc[p, "total"]) and t.loc[p, "problem"]
    assert r.table["project"].tolist()[0] == "Ok"
    assert {(f.project_key, f.code) for f in r.problems} == {
        ("High", "out-of-scale"),
        ("Gap", "missing-dimension"),
        ("Text", "not-a-number"),
    }


def test_itposmo_custom_bands(tmp_path):
    f = tmp_path / "bands.yaml"
    f.write_text(
        "dimension_concern_above: 7\ntotal_concern_above: 30\nbands:\n  - {from: 0, outcome: ok}\n  - {from: 35, outcome: bad}\n"
    )
    cfg = load_itposmo_config(f)
    t = assess_itposmo(pd.DataFrame([_itposmo("A", [7, 7, 7, 7, 7, 0, 0])]), cfg).table
    assert (t.loc[0, "band"], t.loc[0, "outcome"], t.loc[0, "concern"]) == ("35–70", "bad", True)
    assert t.loc[0, "concern_dimensions"] == []
    f.write_text("bands: 3\n")
    with pytest.raises(ConfigError, match=r"bands\.yaml: 'bands'"):
        load_itposmo_config(f)


def test_read_itposmo_csv_norwegian_headers(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text(
        "Prosjekt;Informasjon;Teknologi;Prosesser;Mål og verdier;Bemanning og kompetanse;Styring;Andre ressurser\n"
        "\n# comment\nA;1;2;3;4;5;6;7,5\n",
        encoding="utf-8",
    )
    df = read_itposmo_file(f)
    assert df.loc[0, "project"] == "A" and df.loc[0, "other_resources"] == "7,5"
    assert df.loc[0, "source"] == "r.csv, line 4"
    assert assess_itposmo(df).table.loc[0, "total"] == 28.5


def test_read_itposmo_errors(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("project,I,T,P,O,S,M,O2\nA,1,1,1,1,1,1,1\n")
    with pytest.raises(InputFileError, match="ambiguous"):
        read_itposmo_file(f)
    f.write_text("project,I,T,P,O1,S,M\nA,1,1,1,1,1,1\n")
    with pytest.raises(InputFileError, match="Other resources: time and money is missing"):
        read_itposmo_file(f)
    f.write_text("project,I,T,P,O1,S,M,O2\nA,1,1,1,1,1,1,1,1\n")
    with pytest.raises(InputFileError, match=r"r.csv, line 2: 9 cells"):
        read_itposmo_file(f)
    with pytest.raises(InputFileError, match="file not found"):
        read_rows(tmp_path / "nope.csv")


def test_read_yaml_locations(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("A:\n  I: 1\n  T: x\nB: {I: 2}\n")
    rows = read_rows(f)
    assert rows[0].cells["T"].where == "r.yaml, line 3, key T"
    assert rows[1].where == "r.yaml, line 4"
    f.write_text("- project: A\n  I: [1\n")
    with pytest.raises(InputFileError, match=r"r.yaml, line \d+, column \d+: not valid YAML"):
        read_rows(f)


@pytest.mark.parametrize(("text", "value"), [("1 234,5", 1234.5), ("3.5", 3.5), ("-2", -2.0), (4, 4.0)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def _model():
    return PriorityModel(
        "test", (Criterion("A", 2), Criterion("B", 1), Criterion("R", 1, "against")), 0, 4, "test model"
    )


def test_prioritisation_by_hand():
    ratings = pd.DataFrame(
        [
            {"project": "X", "A": 4, "B": 2, "R": 1},
            {"project": "Y", "A": 2, "B": None, "R": 4},
            {"project": "Z", "A": 5, "B": 1, "R": 1},  # out of scale -> excluded
            {"project": "W", "A": "høy", "B": 1, "R": 1},  # not a number -> excluded
        ]
    )
    r = score_projects(ratings, _model())
    rk = r.ranking.set_index("project")
    # X: A 100*2*1/4 = 50; B 100*1*0.5/4 = 12.5; R against: 100*1*(1-0.25)/4 = 18.75
    assert rk.loc["X", "score"] == pytest.approx(81.25)
    assert (rk.loc["X", "A"], rk.loc["X", "B"], rk.loc["X", "R"]) == pytest.approx((50, 12.5, 18.75))
    # Y: A 25, B missing -> 0, R 4 against -> 0; best case adds B's full 25
    assert rk.loc["Y", "score"] == pytest.approx(25.0)
    assert rk.loc["Y", "best_case_score"] == pytest.approx(50.0)
    assert not rk.loc["Y", "complete"] and rk.loc["Y", "missing"] == ["B"]
    assert r.ranking["rank"].tolist() == [1, 2]
    assert set(r.excluded["project"]) == {"Z", "W"}
    assert {(f.project_key, f.code) for f in r.problems} == {
        ("Y", "missing-rating"),
        ("Z", "out-of-scale"),
        ("W", "not-a-number"),
    }
    bx = r.breakdown[r.breakdown["project"] == "X"].set_index("criterion")
    assert bx.loc["R", "normalised"] == pytest.approx(0.75)


def test_trondheim_preset_uncertainty_and_risk_weight():
    m = load_model("trondheim")
    assert len(m.criteria) == 10
    assert sum(c.weight is not None for c in m.criteria) == 9
    assert m.criterion("risiko").weight is None and m.criterion("Risiko").direction == "against"
    assert "uleselig" in m.uncertainty
    weights, warnings = m.resolved_weights()
    assert sum(weights.values()) == 86 and len(warnings) == 1 and "Risiko" in warnings[0].message
    assert warnings[0].described()[0] == (
        "Vekten for Risiko er ukjent i modellen «Trondheim porteføljestyre (2014–)»; "
        "den dokumenterte standardverdien 10 er brukt."
    )
    weights, warnings = m.with_weights({"Risiko": 14}).resolved_weights()
    assert weights["Risiko"] == 14 and warnings == []
    best = {c.name: 5 for c in m.criteria} | {"Risiko": 0}
    r = score_projects(pd.DataFrame([{"project": "Best", **best}]), m)
    assert r.ranking.loc[0, "score"] == pytest.approx(100.0)
    assert r.warnings and r.warnings[0].field == "Risiko"
    with pytest.raises(ConfigError, match="no criterion 'Kost'"):
        m.with_weights({"Kost": 3})


def test_model_without_default_needs_weight(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text(
        "scale: {min: 1, max: 3}\ncriteria:\n  - {name: A, weight: 1}\n  - {name: B, weight: null}\n"
    )
    m = load_model(f)
    with pytest.raises(ConfigError, match="weight of B is unknown"):
        m.resolved_weights()
    f.write_text("criteria:\n  - {name: A, weight: 1, direction: sideways}\n")
    with pytest.raises(ConfigError, match=r"m\.yaml, criterion A: direction"):
        load_model(f)


def test_read_priority_file(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("prosjekt;a;B;Typo\nX;4;2;1\n")
    df, warnings = read_priority_file(f, _model())
    assert df.loc[0, "A"] == "4" and df.loc[0, "A__where"] == "p.csv, line 2, column a"
    assert [w.code for w in warnings] == ["unknown-column", "missing-criteria"]
    assert "'Typo'" in warnings[0].message and "no column for R" in warnings[1].message
    assert [w.described()[0] for w in warnings] == [
        "Kolonnen «Typo» passer ikke til noe kriterium i modellen «test» og er ikke brukt.",
        "Filen har ingen kolonne for R; ingen prosjekter har disse vurderingene.",
    ]
    r = score_projects(df, _model())
    assert r.ranking.loc[0, "score"] == pytest.approx(62.5)  # 50 + 12.5, R missing -> 0
