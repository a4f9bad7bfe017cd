"""Token sources for the client's ``with_access_token``.

* ``token``: a static bearer token (the emulator's, or one obtained elsewhere);
* ``certificate``: app-only, ``msal.ConfidentialClientApplication.acquire_token_for_client`` with
  the ``<scheme://host>/.default`` scope;
* ``device-code``: delegated, ``msal.PublicClientApplication`` with a persistent token cache
  (file mode 0600); silent acquisition first, the device-code prompt only when needed.

Every provider returns a dict with ``token_type: "Bearer"``: without it the client sends
``Authorization: None <token>``, which SharePoint refuses. Tokens are never logged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.errors import AuthError

TokenProvider = Callable[[], dict[str, Any]]
LOGIN_AUTHORITY = "https://login.microsoftonline.com"


def resource_scope(site_url: str) -> str:
    """``<scheme://host[:port]>/.default`` for a site URL."""
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def _checked(result: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if not result or "access_token" not in result:
        result = result or {}
        reason = result.get("error_description") or result.get("error") or "no token returned"
        # MSAL descriptions carry trace ids, never secrets.
        raise AuthError(f"{what} failed: {str(reason).splitlines()[0]}")
    out = dict(result)
    out.setdefault("token_type", "Bearer")
    return out


def static_token_provider(token: str, expires_in: int = 3600) -> TokenProvider:
    """A provider returning a fixed bearer token."""
    if not token:
        raise AuthError("VEIVISER_ACCESS_TOKEN is empty")

    def provide() -> dict[str, Any]:
        return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}

    return provide


def certificate_token_provider(settings: ConnectionSettings, site_url: str) -> TokenProvider:
    """App-only tokens from a certificate (PEM private key + thumbprint)."""
    assert settings.cert_path is not None and settings.cert_thumbprint is not None
    try:
        private_key = Path(settings.cert_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthError(
            f"cannot read the certificate key {settings.cert_path}: {exc.strerror}",
            hint="Set VEIVISER_CERT_PATH to the PEM file holding the app's private key.",
        ) from None
    credential: dict[str, Any] = {"private_key": private_key, "thumbprint": settings.cert_thumbprint}
    if settings.cert_passphrase is not None:
        credential["passphrase"] = settings.cert_passphrase.get_secret_value()
    scope = resource_scope(site_url)
    lock = threading.Lock()
    app_holder: list[Any] = []

    def provide() -> dict[str, Any]:
        import msal

        with lock:
            if not app_holder:
                app_holder.append(
                    msal.ConfidentialClientApplication(
                        settings.client_id,
                        authority=f"{LOGIN_AUTHORITY}/{settings.tenant_id}",
                        client_credential=credential,
                    )
                )
            app = app_holder[0]
        return _checked(app.acquire_token_for_client(scopes=[scope]), "certificate sign-in")

    return provide


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path`` with mode 0600 (parent directory 0700 when created)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def device_code_token_provider(
    settings: ConnectionSettings,
    site_url: str,
    *,
    prompt: Callable[[str], None] | None = None,
) -> TokenProvider:
    """Delegated tokens by device code, cached in ``settings.token_cache_path`` (0600)."""
    scope = resource_scope(site_url)
    cache_path = Path(settings.token_cache_path)
    show = prompt or (lambda message: print(message, file=sys.stderr, flush=True))
    lock = threading.Lock()

    def provide() -> dict[str, Any]:
        import msal

        with lock:
            cache = msal.SerializableTokenCache()
            if cache_path.exists():
                # A corrupt or unreadable cache only costs a new sign-in.
                with contextlib.suppress(OSError, ValueError):
                    cache.deserialize(cache_path.read_text(encoding="utf-8"))
            app = msal.PublicClientApplication(
                settings.client_id,
                authority=f"{LOGIN_AUTHORITY}/{settings.tenant_id}",
                token_cache=cache,
            )
            result = None
            accounts = app.get_accounts()
            if accounts:
                result = app.acquire_token_silent([scope], account=accounts[0])
            if not result or "access_token" not in result:
                flow = app.initiate_device_flow(scopes=[scope])
                if "user_code" not in flow:
                    raise AuthError(
                        f"device-code sign-in could not start: {flow.get('error_description', flow.get('error'))}"
                    )
                show(flow["message"])
                result = app.acquire_token_by_device_flow(flow)
            checked = _checked(result, "device-code sign-in")
            if getattr(cache, "has_state_changed", True):
                write_private_file(cache_path, cache.serialize())
            return checked

    return provide


def token_provider(settings: ConnectionSettings, site_url: str) -> TokenProvider:
    """The provider for ``settings.auth``."""
    if settings.auth == "token":
        assert settings.access_token is not None
        return static_token_provider(settings.access_token.get_secret_value())
    if settings.auth == "certificate":
        return certificate_token_provider(settings, site_url)
    return device_code_token_provider(settings, site_url)


def check_credentials(settings: ConnectionSettings) -> None:
    """Refuse settings that cannot give a token, before any request (the checks the token
    providers make on their own when first asked)."""
    if settings.auth == "token" and (
        settings.access_token is None or not settings.access_token.get_secret_value()
    ):
        raise AuthError("VEIVISER_ACCESS_TOKEN is empty")


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (unverified: only to tell app-only from delegated), or None if it is none."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def is_app_only(settings: ConnectionSettings) -> bool:
    """Whether calls run as the app alone, so a new site needs an explicit owner (docs/sharepoint.md, "People").

    ``certificate`` is app-only and ``device-code`` delegated. A static token is delegated only when
    it is a JWT that names a user (``scp``, no ``idtyp: app``); an opaque token (the emulator's) or
    an app token counts as app-only, the case that needs the most.
    """
    if settings.auth == "device-code":
        return False
    if settings.auth == "certificate" or settings.access_token is None:
        return True
    claims = _jwt_claims(settings.access_token.get_secret_value())
    if claims is None:
        return True
    return claims.get("idtyp") == "app" or "scp" not in claims
