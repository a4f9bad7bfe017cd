"""``veiviser auth certificate``: a self-signed certificate for the app registration.

The private key stays on the machine that runs veiviser (PEM, mode 0600; encrypted when
``VEIVISER_CERT_PASSPHRASE`` is set); the certificate (public part) is uploaded to the Entra app.
Microsoft Entra identifies the certificate by its SHA-1 thumbprint, which is what MSAL sends in the
client assertion and what ``cert_thumbprint`` holds (docs/operations.md, "Connect to your tenant").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from veiviser.errors import VeiviserError
from veiviser.sharepoint.auth import write_private_file

KEY_FILE = "veiviser-app.key.pem"
CERT_FILE = "veiviser-app.cer"
KEY_SIZE = 2048  # Entra app credentials take RSA keys of 2048 bits or more


class CertificateError(VeiviserError):
    """The certificate cannot be written where asked (exit 2: choose another folder)."""

    exit_code = 2


@dataclass(frozen=True)
class AppCertificate:
    """What was written: the key (stays here), the certificate (goes to Entra) and its thumbprint."""

    key_path: Path
    cert_path: Path
    thumbprint: str
    subject: str
    not_after: dt.datetime
    encrypted: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "key_path": str(self.key_path),
            "cert_path": str(self.cert_path),
            "thumbprint": self.thumbprint,
            "subject": self.subject,
            "not_after": self.not_after.isoformat(),
            "encrypted": self.encrypted,
        }


def thumbprint(cert: x509.Certificate) -> str:
    """The SHA-1 thumbprint Entra shows and MSAL expects: 40 upper-case hex digits."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # an identifier, not a signature


def create_app_certificate(
    out_dir: str | Path,
    *,
    common_name: str = "veiviser",
    days: int = 730,
    passphrase: str | None = None,
    now: dt.datetime | None = None,
) -> AppCertificate:
    """Write a new RSA key and a self-signed certificate into ``out_dir``; never overwrites."""
    if days < 1 or days > 3650:
        raise CertificateError(f"--days {days}: give 1 to 3650 days", hint="Two years (730) is common.")
    folder = Path(out_dir)
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    existing = [str(p) for p in (key_path, cert_path) if p.exists()]
    if existing:
        raise CertificateError(
            f"{', '.join(existing)} already exist(s); veiviser never overwrites a key",
            hint="Choose another --out folder, or move the old files away first.",
        )
    if folder.exists() and not folder.is_dir():
        raise CertificateError(f"{folder} is a file, not a folder", hint="Give --out a folder.")
    start = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    try:
        write_private_file(key_path, key_pem.decode("ascii"))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise CertificateError(
            f"cannot write into {folder}: {exc.strerror or exc}", hint="Choose a folder you may write to."
        ) from None
    return AppCertificate(
        key_path=key_path,
        cert_path=cert_path,
        thumbprint=thumbprint(cert),
        subject=f"CN={common_name}",
        not_after=cert.not_valid_after_utc,
        encrypted=bool(passphrase),
    )


def registration_steps(cert: AppCertificate) -> list[str]:
    """The steps from a new certificate to a passing ``veiviser doctor``, in the user's order."""
    return [
        "In the Microsoft Entra admin center: Applications > App registrations > New registration "
        "(name e.g. 'veiviser', single tenant, no redirect URI). Note the Application (client) ID "
        "and the Directory (tenant) ID.",
        f"Certificates & secrets > Certificates > Upload certificate: {cert.cert_path}. "
        f"Entra shows the thumbprint {cert.thumbprint}.",
        "API permissions > Add a permission > SharePoint > Application permissions, then "
        "'Grant admin consent'. Choose one:",
        "  Sites.FullControl.All: every site in the tenant; needed to create sites, register the hub, "
        "and read the tenant's site list (joined sites outside the register).",
        "  Sites.Selected: only the sites an admin grants one by one (Microsoft Graph "
        "'POST /sites/{site-id}/permissions' with role 'fullcontrol', or PnP PowerShell "
        "Grant-PnPAzureADAppSitePermission); veiviser can then neither create sites nor read the "
        "tenant's site list: create the sites first and grant each one.",
        "Put the values in veiviser.toml (no secrets in the file):",
        "  [profiles.default]",
        '  auth = "certificate"',
        '  tenant_id = "<Directory (tenant) ID>"',
        '  client_id = "<Application (client) ID>"',
        f'  cert_path = "{cert.key_path}"',
        f'  cert_thumbprint = "{cert.thumbprint}"',
        '  admin_url = "https://<tenant>-admin.sharepoint.com"',
        '  hub = "https://<tenant>.sharepoint.com/sites/<portfolio>"',
        *(
            ["Set VEIVISER_CERT_PASSPHRASE in the environment of every run (the key is encrypted)."]
            if cert.encrypted
            else []
        ),
        "Check everything: veiviser doctor",
    ]
