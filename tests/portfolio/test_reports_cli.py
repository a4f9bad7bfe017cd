"""``veiviser report --dataset DIR --out DIR``: writes all outputs; clear errors for bad input."""

from __future__ import annotations

from click.testing import CliRunner

from veiviser.cli import main

from .test_reports_data import SINCE, sample_dataset


def test_report_command_writes_all_outputs(tmp_path):
    sample_dataset().to_directory(tmp_path / "ds")
    result = CliRunner().invoke(
        main, ["report", "--dataset", str(tmp_path / "ds"), "--out", str(tmp_path / "out"), "--since", SINCE]
    )
    assert result.exit_code == 0, result.output
    assert "portefoljerapport.html" in result.output
    assert (tmp_path / "out" / "portefoljerapport.xlsx").is_file()
    assert (tmp_path / "out" / "powerbi" / "fact_risks.parquet").is_file()


def test_report_command_bad_dataset_and_output(tmp_path):
    result = CliRunner().invoke(
        main, ["report", "--dataset", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )
    assert (
        result.exit_code == 2
        and "dataset folder not found" in result.output
        and "Traceback" not in result.output
    )
    sample_dataset().to_directory(tmp_path / "ds")
    (tmp_path / "blocker").write_text("x")
    result = CliRunner().invoke(
        main, ["report", "--dataset", str(tmp_path / "ds"), "--out", str(tmp_path / "blocker" / "o")]
    )
    assert result.exit_code == 2 and "Cannot write the report" in result.output and "Hint:" in result.output
    result = CliRunner().invoke(
        main,
        ["report", "--dataset", str(tmp_path / "ds"), "--out", str(tmp_path / "o"), "--since", "not a date"],
    )
    assert result.exit_code == 1 and "since is not a date" in result.output
