"""Connection settings for SharePoint Online (environment variables with the prefix ``VEIVISER_``).

Secrets (access token, certificate passphrase) are ``SecretStr``: they never appear in ``repr``,
``str`` or logs; read them with ``.get_secret_value()`` only where they are used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AuthMode = Literal["token", "certificate", "device-code"]


def default_token_cache_path() -> Path:
    """``$XDG_CACHE_HOME/veiviser/msal_token_cache.json`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "veiviser" / "msal_token_cache.json"


class ConnectionSettings(BaseSettings):
    """How veiviser authenticates and talks to SharePoint.

    ``auth`` picks the token source: ``token`` (a static bearer token, e.g. the emulator's, or one
    obtained elsewhere), ``certificate`` (app-only, production) or ``device-code`` (delegated,
    interactive on a terminal).
    """

    model_config = SettingsConfigDict(env_prefix="VEIVISER_", extra="ignore", populate_by_name=True)

    auth: AuthMode = "token"
    access_token: SecretStr | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    cert_path: Path | None = None
    cert_thumbprint: str | None = None
    cert_passphrase: SecretStr | None = None
    token_cache_path: Path = Field(default_factory=default_token_cache_path)
    org: str = "veiviser"
    proxy: str | None = None
    admin_url: str | None = None
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(120.0, gt=0)
    retry_max_attempts: int = Field(6, ge=1, le=50)
    retry_max_total_seconds: float = Field(300.0, ge=0)
    # Resource units per minute for the app (SPO 2025 table, 0-1 000 licences: 1 250 RU/min).
    ru_per_minute: float = Field(1250.0, gt=0)
    ru_cost_per_request: float = Field(2.0, gt=0)

    @field_validator("org")
    @classmethod
    def _org_has_no_separator(cls, value: str) -> str:
        if "|" in value or not value.strip():
            raise ValueError("ORG must be a non-empty company name without '|' (used in the User-Agent)")
        return value.strip()

    @field_validator("admin_url", "proxy")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _check_mode(self) -> ConnectionSettings:
        missing: list[str] = []
        if self.auth == "token" and self.access_token is None:
            missing.append("VEIVISER_ACCESS_TOKEN")
        if self.auth == "certificate":
            for name in ("tenant_id", "client_id", "cert_path", "cert_thumbprint"):
                if not getattr(self, name):
                    missing.append(f"VEIVISER_{name.upper()}")
        if self.auth == "device-code":
            for name in ("tenant_id", "client_id"):
                if not getattr(self, name):
                    missing.append(f"VEIVISER_{name.upper()}")
        if missing:
            raise ValueError(
                f"auth mode {self.auth!r} needs {', '.join(missing)}; set them in the environment"
            )
        return self

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` seconds for every HTTP request."""
        return (self.connect_timeout, self.read_timeout)
