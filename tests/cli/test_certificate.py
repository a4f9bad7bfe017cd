"""``veiviser auth certificate``: a key (0600) and a matching self-signed certificate, the
thumbprint Entra will show, the steps to doctor; never an overwrite."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from veiviser.cli import main


def test_key_and_certificate_match_and_the_thumbprint_is_printed(tmp_path: Path) -> None:
    out = tmp_path / "cert"
    result = CliRunner().invoke(main, ["auth", "certificate", "--out", str(out), "--name", "veiviser-test"])
    assert result.exit_code == 0, result.output

    key_file, cert_file = out / "veiviser-app.key.pem", out / "veiviser-app.cer"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert cert.subject.rfc4514_string() == "CN=veiviser-test" and cert.issuer == cert.subject

    der = cert.public_bytes(serialization.Encoding.DER)
    thumb = hashlib.sha1(der).hexdigest().upper()  # what Entra shows for an uploaded certificate
    assert f"Thumbprint:   {thumb}" in result.output
    assert f'cert_thumbprint = "{thumb}"' in result.output and f'cert_path = "{key_file}"' in result.output
    for needed in ("Sites.FullControl.All", "Sites.Selected", "Grant admin consent", "veiviser doctor"):
        assert needed in result.output
    assert result.output.rstrip().splitlines()[-1].endswith("veiviser doctor")


def test_the_key_is_encrypted_with_the_passphrase_from_the_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["auth", "certificate", "--out", str(tmp_path)],
        env={"VEIVISER_CERT_PASSPHRASE": "korrekt hest"},
    )
    assert result.exit_code == 0, result.output
    assert "korrekt hest" not in result.output and "encrypted" in result.output
    pem = (tmp_path / "veiviser-app.key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert serialization.load_pem_private_key(pem, password=b"korrekt hest") is not None


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["auth", "certificate", "--out", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "veiviser-app.key.pem").read_bytes()
    again = runner.invoke(main, ["auth", "certificate", "--out", str(tmp_path)])
    assert again.exit_code == 2 and "never overwrites" in again.output and "Traceback" not in again.output
    assert (tmp_path / "veiviser-app.key.pem").read_bytes() == before


def test_bad_arguments_say_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    days = runner.invoke(main, ["auth", "certificate", "--out", str(tmp_path / "a"), "--days", "0"])
    assert days.exit_code == 2 and "1 to 3650" in days.output
    a_file = tmp_path / "fil"
    a_file.write_text("x", encoding="utf-8")
    into_file = runner.invoke(main, ["auth", "certificate", "--out", str(a_file / "sub")])
    assert into_file.exit_code == 2 and "cannot write" in into_file.output
