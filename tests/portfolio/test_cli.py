"""The ``veiviser itposmo`` and ``veiviser prioritise`` commands via click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from veiviser.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def test_itposmo_table_and_problem(runner, tmp_path):
    f = tmp_path / "it.csv"
    f.write_text("prosjekt;I;T;P;O1;S;M;O2\nA;1;2;3;4;5;6;7\nB;1;1;1;1;1;1;1\nC;11;1;1;1;1;1;1\n")
    res = runner.invoke(main, ["itposmo", str(f)])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert out.index("│ A ") < out.index("│ B ")
    assert "15–28" in out and "O2=7 M=6" in out
    assert "it.csv, line 4, column I" in res.stderr and "outside 0–10" in res.stderr
    assert "Traceback" not in res.output


def test_itposmo_json_yaml_and_bands(runner, tmp_path):
    f = tmp_path / "it.yaml"
    f.write_text(
        "projects:\n  - {project: A, information: 7, technology: 7, processes: 7, objectives: 7,"
        " staffing: 7, management: 0, other resources: 0}\n"
    )
    bands = tmp_path / "b.yaml"
    bands.write_text("bands:\n  - {from: 0, outcome: fine}\n  - {from: 40, outcome: trouble}\n")
    res = runner.invoke(main, ["itposmo", str(f), "--format", "json", "--bands", str(bands)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["projects"][0]["total"] == 35 and data["projects"][0]["outcome"] == "fine"
    assert data["projects"][0]["concern_dimensions"] == [
        "information",
        "technology",
        "processes",
        "objectives",
        "staffing",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("project,I,T\nA,1,1\n", "it.csv: column for Processes is missing"),
        (
            "project;I;T;P;O1;S;M;O2;Foo\nA;1;1;1;1;1;1;1;1\n",
            "it.csv, line 2, column Foo: unknown column 'Foo'",
        ),
        ("", "it.csv: the file is empty"),
        ("project,I,T,P,O1,S,M,O2\nA,1,1,1,1,1,1,1,9\n", "it.csv, line 2: 9 cells"),
    ],
)
def test_itposmo_bad_files(runner, tmp_path, content, message):
    f = tmp_path / "it.csv"
    f.write_text(content)
    res = runner.invoke(main, ["itposmo", str(f)])
    assert res.exit_code == 2
    assert message in res.stderr
    # A clean exit through click: one «Error:» message (and its hint) on stderr, nothing half-printed
    # on stdout, and no exception other than click's own SystemExit(2) caught by the runner.
    assert type(res.exception) is SystemExit and res.exception.code == 2, repr(res.exception)
    assert res.stderr.startswith("Error: ") and "Traceback" not in res.stderr, res.stderr
    assert res.stdout == ""


def test_itposmo_missing_file_and_bad_bands(runner, tmp_path):
    res = runner.invoke(main, ["itposmo", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "file not found" in res.stderr
    f = tmp_path / "it.csv"
    f.write_text("project,I,T,P,O1,S,M,O2\nA,1,1,1,1,1,1,1\n")
    b = tmp_path / "b.yaml"
    b.write_text("bands: [\n")
    res = runner.invoke(main, ["itposmo", str(f), "--bands", str(b)])
    assert res.exit_code == 2 and "b.yaml, line" in res.stderr and "not valid YAML" in res.stderr


def _ratings(tmp_path):
    f = tmp_path / "p.csv"
    crit = [
        "Strategi",
        "Volum",
        "Volumtall",
        "Levetid",
        "Samhandling",
        "Kvalitet",
        "Ressursutnyttelse",
        "Kritikalitet",
        "Fremtid",
        "Risiko",
    ]
    f.write_text(
        "project;" + ";".join(crit) + "\n"
        "Best;5;5;5;5;5;5;5;5;5;0\n"
        "Half;5;5;5;5;5;5;5;5;5;5\n"
        "Gap;5;5;5;5;5;5;5;5;5;\n"
        "Bad;9;5;5;5;5;5;5;5;5;0\n"
    )
    return f


def test_prioritise_trondheim(runner, tmp_path):
    res = runner.invoke(main, ["prioritise", str(_ratings(tmp_path)), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    scores = {r["project"]: r["score"] for r in data["ranking"]}
    # weights 76 printed + Risiko default 10 = 86; Half loses Risiko entirely: 76/86
    assert scores["Best"] == pytest.approx(100.0)
    assert scores["Half"] == pytest.approx(100 * 76 / 86)
    assert scores["Gap"] == pytest.approx(100 * 76 / 86)  # missing Risiko scored least favourable
    assert [r["project"] for r in data["excluded"]] == ["Bad"]
    assert "uleselig" in data["uncertainty"]
    assert any("Risiko" in w for w in data["warnings"])
    assert "p.csv, line 5, column Strategi" in res.stderr


def test_prioritise_weight_override_and_table(runner, tmp_path):
    res = runner.invoke(main, ["prioritise", str(_ratings(tmp_path)), "--weight", "Risiko=24"])
    assert res.exit_code == 0, res.output
    assert "Model uncertainty" in res.stdout and "w=24" in res.stdout
    assert "using the documented default" not in res.stderr
    assert "Excluded" in res.stdout and "Bad" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weight", "Risiko"], "not CRITERION=NUMBER"),
        (["--weight", "Kost=3"], "no criterion 'Kost'"),
        (["--model", "nope.yaml"], "nope.yaml: configuration file not found"),
    ],
)
def test_prioritise_bad_options(runner, tmp_path, args, message):
    res = runner.invoke(main, ["prioritise", str(_ratings(tmp_path)), *args])
    assert res.exit_code != 0
    assert message in res.stderr and "Traceback" not in res.output
