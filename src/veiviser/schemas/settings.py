"""Connection settings for SharePoint Online (environment variables with the prefix ``VEIVISER_``)
and the config file's named profiles (``veiviser.toml``; the environment overrides the file).

Secrets (access token, certificate passphrase) are ``SecretStr``: they never appear in ``repr``,
``str`` or logs; read them with ``.get_secret_value()`` only where they are used.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from veiviser.errors import VeiviserError

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


# --- the config file: named profiles (docs/operations.md) -----------------------------------------

CONFIG_FILE_NAME = "veiviser.toml"

#: Keys that hold secrets: never read from the config file (environment or keyring only).
SECRET_KEYS = frozenset({"access_token", "cert_passphrase", "client_secret", "password", "token", "secret"})

#: Profile keys that are connection settings, and the environment variable each one defaults.
CONNECTION_KEYS = (
    "auth",
    "tenant_id",
    "client_id",
    "cert_path",
    "cert_thumbprint",
    "admin_url",
    "org",
    "ru_per_minute",
    "proxy",
)


class ConfigError(VeiviserError):
    """The config file cannot be read or a profile in it is wrong (exit 2: fix the file)."""

    exit_code = 2


def config_file_candidates() -> list[Path]:
    """Where veiviser looks for the config file, first match wins: ``$VEIVISER_CONFIG``,
    ``./veiviser.toml``, ``$XDG_CONFIG_HOME/veiviser/veiviser.toml`` (``~/.config`` when unset)."""
    explicit = os.environ.get("VEIVISER_CONFIG")
    if explicit:
        return [Path(explicit)]
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.cwd() / CONFIG_FILE_NAME, Path(base) / "veiviser" / CONFIG_FILE_NAME]


def find_config_file() -> Path | None:
    """The config file in use, or None when there is none."""
    candidates = config_file_candidates()
    if os.environ.get("VEIVISER_CONFIG"):
        return candidates[0]  # named explicitly: a missing file is an error when it is read
    return next((p for p in candidates if p.is_file()), None)


class Profile(BaseSettings):
    """One named profile of the config file; every value can be overridden by ``VEIVISER_<KEY>``.

    Secrets are not profile keys: the access token and the certificate passphrase come from the
    environment (``VEIVISER_ACCESS_TOKEN``, ``VEIVISER_CERT_PASSPHRASE``).
    """

    model_config = SettingsConfigDict(env_prefix="VEIVISER_", extra="forbid")

    hub: str | None = None
    hubs: list[str] = Field(default_factory=list)
    admin_url: str | None = None
    auth: AuthMode | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    cert_path: Path | None = None
    cert_thumbprint: str | None = None
    state_url: str | None = None
    workers: int | None = Field(None, ge=1, le=64)
    ru_per_minute: float | None = Field(None, gt=0)
    org: str | None = None
    owner: str | None = None
    proxy: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file: the file's table arrives as init values.
        return (env_settings, init_settings)

    @property
    def hub_urls(self) -> list[str]:
        """Every hub of the profile (``hub`` first, then ``hubs``), without duplicates."""
        urls = [self.hub] if self.hub else []
        urls += [u for u in self.hubs if u not in urls]
        return [u.rstrip("/") for u in urls]

    def connection_settings(self, secrets: dict[str, str] | None = None) -> ConnectionSettings:
        """Connection settings from this profile; secrets from ``secrets`` (the keyring's, for
        variables that are not set) or the environment, unset keys from the environment."""
        values: dict[str, Any] = {
            key: getattr(self, key) for key in CONNECTION_KEYS if getattr(self, key) is not None
        }
        values.update(secrets or {})
        return ConnectionSettings(**values)

    def connection_environment(self) -> dict[str, str]:
        """The profile's connection values as ``VEIVISER_*`` variables (for code that reads
        :class:`ConnectionSettings` from the environment)."""
        out: dict[str, str] = {}
        for key in CONNECTION_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[f"VEIVISER_{key.upper()}"] = str(value)
        if self.state_url:
            out["VEIVISER_STATE_URL"] = self.state_url
        return out


#: The keyring service veiviser's secrets are stored under (user name ``<profile>:<key>``).
KEYRING_SERVICE = "veiviser"
#: The secrets a profile may take from the OS keyring when the environment lacks them.
KEYRING_KEYS = ("access_token", "cert_passphrase")


def keyring_secrets(profile: str) -> dict[str, str]:
    """The profile's secrets from the OS keyring (``keyring set veiviser <profile>:access_token``),
    for the keys whose ``VEIVISER_*`` variable is not set. Empty when the optional ``keyring``
    package (``pip install 'veiviser[keyring]'``) or a keyring backend is missing."""
    wanted = [key for key in KEYRING_KEYS if f"VEIVISER_{key.upper()}" not in os.environ]
    if not wanted:
        return {}
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return {}
    found: dict[str, str] = {}
    for key in wanted:
        try:
            value = keyring.get_password(KEYRING_SERVICE, f"{profile}:{key}")
        except keyring.errors.KeyringError:  # no usable backend (e.g. a headless server)
            return found
        if value:
            found[key] = value
    return found


@dataclass
class LoadedProfile:
    """A profile with where it came from and what was wrong but not fatal (secrets in the file)."""

    name: str
    profile: Profile
    file: Path | None = None
    warnings: list[str] = field(default_factory=list)
    available: list[str] = field(default_factory=list)

    def connection_settings(self) -> ConnectionSettings:
        """The profile's connection settings, with secrets from the environment or the keyring."""
        return self.profile.connection_settings(keyring_secrets(self.name))

    def environment(self) -> dict[str, str]:
        """``VEIVISER_*`` defaults for this profile: its connection values and keyring secrets."""
        out = self.profile.connection_environment()
        out.update({f"VEIVISER_{key.upper()}": value for key, value in keyring_secrets(self.name).items()})
        return out


def _line_of(text: str, key: str, table: str) -> int | None:
    """The line (1-based) where ``key = …`` is set inside ``[table]``; None when not found."""
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.strip("[]").strip().replace('"', "") == table
        elif in_table and stripped.split("=", 1)[0].strip().strip('"') == key and "=" in stripped:
            return number
    return None


#: Environment variables veiviser once read and no longer does, and what took their place.
RETIRED_VARIABLES = {
    "VEIVISER_RU_COST_PER_REQUEST": (
        "each request is now charged the resource units SharePoint charges for it "
        "(docs/sharepoint.md, 'Resource units per request')"
    ),
}


def retired_variable_warnings() -> list[str]:
    """A warning for each retired ``VEIVISER_*`` variable still set: it has no effect any more."""
    return [
        f"{key} is set but no longer used: {why}; delete it from the environment"
        for key, why in RETIRED_VARIABLES.items()
        if key in os.environ
    ]


def load_profile(name: str | None = None, file: Path | None = None) -> LoadedProfile:
    """Read profile ``name`` (default: ``$VEIVISER_PROFILE`` or ``default``) from the config file.

    Without a config file the profile is empty (the environment alone). A named profile that is
    missing, a file that is not TOML and an unknown key raise :class:`ConfigError` with file and line.
    The warnings name secrets in the file and retired variables in the environment.
    """
    loaded = _read_profile(name, file)
    loaded.warnings[:0] = retired_variable_warnings()
    return loaded


def _read_profile(name: str | None, file: Path | None) -> LoadedProfile:
    explicit = name or os.environ.get("VEIVISER_PROFILE")
    name = explicit or "default"
    path = file or find_config_file()
    if path is None:
        if explicit:
            where = " or ".join(str(p) for p in config_file_candidates())
            raise ConfigError(
                f"profile {name!r} asked for, but there is no config file ({where})",
                hint="Create veiviser.toml with a [profiles.NAME] table (see docs/operations.md).",
            )
        return LoadedProfile(name, _validated(Profile, {}, None, name, ""))
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="Fix the line named above.") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: 'profiles' must be a table of [profiles.NAME] tables")
    available = sorted(profiles)
    if name not in profiles:
        if explicit:
            raise ConfigError(
                f"{path}: no profile {name!r}; the file has: {', '.join(available) or 'none'}",
                hint=f"Add a [profiles.{name}] table or pass --profile with one of those names.",
            )
        return LoadedProfile(name, _validated(Profile, {}, path, name, text), path, available=available)
    table = dict(profiles[name])
    warnings = []
    for key in sorted(SECRET_KEYS & set(table)):
        line = _line_of(text, key, f"profiles.{name}")
        warnings.append(
            f"{path}:{line or '?'}: a secret ({key}) is stored in the config file and is ignored; "
            f"delete it and set VEIVISER_{key.upper()} in the environment instead"
        )
        del table[key]
    profile = _validated(Profile, table, path, name, text)
    return LoadedProfile(name, profile, path, warnings, available)


def _validated(
    model: type[Profile], table: dict[str, Any], path: Path | None, name: str, text: str
) -> Profile:
    try:
        return model(**table)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            if key in table:
                line = _line_of(text, key, f"profiles.{name}")
                where = f"{path}:{line}" if path and line else str(path)
                problems.append(f"{where}: profile {name!r}: {key}: {message}")
            else:  # from the environment: the variable's name, never its value
                problems.append(f"VEIVISER_{key.upper()}: {message}")
        raise ConfigError(
            "; ".join(problems),
            hint=f"Allowed keys: {', '.join(Profile.model_fields)} (docs/operations.md).",
        ) from None
