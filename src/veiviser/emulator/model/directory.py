"""The tenant's directory of people: who ``EnsureUser`` and person values may resolve.

SharePoint Online adds a person to a site only when the tenant's directory (Entra ID) knows the
login; an unknown one is refused (docs/emulator.md, "Tenant directory"). The emulator keeps the
directory in memory: a default one with every person the tests, the demo and the README use, or
one loaded from a CSV or YAML file (``veiviser emulator serve --users FILE``), extended at run time
with :meth:`Directory.add`.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from veiviser.errors import VeiviserError

CLAIM_PREFIX = "i:0#.f|membership|"
EMULATOR_ADMIN = "admin@emulator.local"  # the root site's owner; always in the directory


class DirectoryError(VeiviserError):
    """A users file (or a user given to the Python API) cannot be read."""


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One person in the tenant directory.

    ``upn`` is the sign-in name (lower case), ``email`` the mail address (the UPN when not given),
    ``object_id`` the Entra object id (derived from the UPN when not given).
    """

    upn: str
    title: str
    email: str
    object_id: str

    @property
    def login(self) -> str:
        """The claims login SharePoint stores for the person (``i:0#.f|membership|<upn>``)."""
        return CLAIM_PREFIX + self.upn


def new_user(upn: str, title: str = "", email: str = "", object_id: str = "") -> DirectoryUser:
    """A directory entry with defaults filled in; raises :class:`DirectoryError` on a bad UPN."""
    upn = upn.strip().lower()
    if upn.startswith(CLAIM_PREFIX):
        upn = upn[len(CLAIM_PREFIX) :]
    if "@" not in upn or upn.startswith("@") or upn.endswith("@") or any(c.isspace() for c in upn):
        raise DirectoryError(
            f"{upn or '(empty)'!r} is not a user principal name.",
            hint="Give each user as an address like kari.nordmann@kommune.no.",
        )
    local = upn.split("@")[0]
    title = title.strip() or " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)
    oid = object_id.strip() or str(uuid.uuid5(uuid.NAMESPACE_URL, "entra:" + upn))
    try:
        oid = str(uuid.UUID(oid))
    except ValueError as exc:
        raise DirectoryError(
            f"The id {object_id!r} of {upn} is not a GUID.",
            hint="Leave the id empty or give the person's Entra object id (a GUID).",
        ) from exc
    return DirectoryUser(upn, title, (email.strip() or upn).lower(), oid)


def login_key(login: str) -> str:
    """The part of a login the directory is keyed on: the UPN/e-mail in lower case."""
    text = login.strip().lower()
    return text.split("|")[-1] if text.startswith("i:0#.f|") else text


class Directory:
    """The people of the tenant, found by UPN, e-mail or claims login (case-insensitive)."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        self._by_key: dict[str, DirectoryUser] = {}
        self.add(new_user(EMULATOR_ADMIN, "Emulator Admin"))
        for user in users:
            self.add(user)

    def add(self, user: DirectoryUser) -> DirectoryUser:
        """Add or replace a person (an entry with the same UPN or e-mail is replaced)."""
        for key in (user.upn, user.email):
            old = self._by_key.get(key)
            if old is not None:
                self._by_key.pop(old.upn, None)
                self._by_key.pop(old.email, None)
        self._by_key[user.upn] = user
        self._by_key[user.email] = user
        return user

    def find(self, login: str) -> DirectoryUser | None:
        """The person a login (UPN, e-mail or ``i:0#.f|membership|…``) names, or None."""
        return self._by_key.get(login_key(login))

    def __len__(self) -> int:
        return len({u.upn for u in self._by_key.values()})

    def __iter__(self) -> Any:
        return iter(sorted({u.upn: u for u in self._by_key.values()}.values(), key=lambda u: u.upn))


def users_from(values: Iterable[DirectoryUser | str | Mapping[str, Any]]) -> list[DirectoryUser]:
    """Users given to the Python API: entries, UPN strings or mappings with the file's columns."""
    out = []
    for i, value in enumerate(values, start=1):
        if isinstance(value, DirectoryUser):
            out.append(value)
        elif isinstance(value, str):
            out.append(new_user(value))
        elif isinstance(value, Mapping):
            out.append(_from_row(value, f"user {i}"))
        else:
            raise DirectoryError(
                f"User {i} is a {type(value).__name__}; give an address, a mapping or a DirectoryUser.",
                hint="E.g. users=['kari@kommune.no', {'upn': 'ola@kommune.no', 'name': 'Ola Nordmann'}].",
            )
    return out


# Column names accepted in a users file, Norwegian or English, in any case.
_UPN = ("upn", "userprincipalname", "login", "brukernavn")
_EMAIL = ("email", "e-mail", "mail", "e-post", "epost")
_NAME = ("name", "display name", "displayname", "title", "navn", "visningsnavn")
_ID = ("id", "object id", "objectid", "entra id")


def _pick(row: Mapping[str, Any], names: tuple[str, ...]) -> str:
    for key, value in row.items():
        if str(key).strip().lower() in names and value not in (None, ""):
            return str(value)
    return ""


def _from_row(row: Mapping[str, Any], where: str) -> DirectoryUser:
    upn = _pick(row, _UPN) or _pick(row, _EMAIL)
    if not upn:
        raise DirectoryError(
            f"{where}: no UPN or e-mail.",
            hint="Give every user an 'upn' or 'email' column (and optionally 'name' and 'id').",
        )
    try:
        return new_user(upn, _pick(row, _NAME), _pick(row, _EMAIL), _pick(row, _ID))
    except DirectoryError as exc:
        raise DirectoryError(f"{where}: {exc}", hint=exc.hint) from exc


def load_users(path: str | Path) -> list[DirectoryUser]:
    """Read a users file: CSV (header row; ``,`` or ``;``) or YAML (a list, or ``users:`` list)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DirectoryError(
            f"Cannot read the users file {path}: {exc.strerror}.", hint="Check the path."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"The users file {path} is not UTF-8.", hint="Save it as UTF-8.") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(path, text)
    return _load_csv(path, text)


def _load_csv(path: Path, text: str) -> list[DirectoryUser]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [str(h).strip().lower() for h in reader.fieldnames or []]
    if not any(h in _UPN + _EMAIL for h in header):
        raise DirectoryError(
            f"{path}, line 1: the header has no 'upn' or 'email' column (found: {', '.join(header) or 'nothing'}).",
            hint="Start the file with a header such as: upn,name,id",
        )
    users = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        users.append(_from_row(row, f"{path}, line {reader.line_num}"))
    return users


def _load_yaml(path: Path, text: str) -> list[DirectoryUser]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise DirectoryError(
            f"{path}{line}: not valid YAML.", hint="Check the indentation and quotes."
        ) from exc
    if isinstance(data, dict):
        data = data.get("users")
    if not isinstance(data, list):
        raise DirectoryError(
            f"{path}: expected a list of users (or 'users:' with a list).",
            hint="E.g.\nusers:\n  - upn: kari@kommune.no\n    name: Kari Nordmann",
        )
    users = []
    for i, entry in enumerate(data, start=1):
        where = f"{path}, user {i}"
        if isinstance(entry, str):
            entry = {"upn": entry}
        if not isinstance(entry, dict):
            raise DirectoryError(f"{where}: expected an address or a mapping.", hint="See docs/emulator.md.")
        users.append(_from_row(entry, where))
    return users


# --- the default directory ---------------------------------------------------------------------

# The people the tests, the README and the examples use (name → UPN).
_KNOWN = (
    ("Portefølje Admin", "admin@kommune.no"),
    ("Prosjekteier", "eier@kommune.no"),
    ("Prosjektleder", "leder@kommune.no"),
    ("Kari Nordmann", "kari@kommune.no"),
    ("Kari Nordmann", "kari.nordmann@kommune.no"),
    ("Ola Nordmann", "ola@kommune.no"),
    ("Per Hansen", "per@kommune.no"),
    ("Prosjektleder 2", "pl@kommune.no"),
    ("Porteføljekontoret", "pmo@kommune.no"),
    ("Pat O'Hara", "o'hara@kommune.no"),
    ("Kari", "kari@x.no"),
    ("Kari", "k@x.no"),
    ("A", "a@k.no"),
    ("Ola Nordmann", "ola@contoso.no"),
    ("Contoso Admin", "admin@contoso.onmicrosoft.com"),
    ("Bench Admin", "admin@bench.no"),
)

# The demo's fictional staff (docs/emulator.md, "Tenant directory"): every first × last name under
# the demo's domain, spelt as the demo spells the address, plus its portfolio office.
DEMO_DOMAIN = "trondheim.kommune.example"
_DEMO_FIRST = (
    "Kari Ola Ingrid Lars Marit Jon Silje Anders Hanne Per Tone Eirik Solveig Magnus Randi Øystein "
    "Kristin Håkon Line Bjørn Åse Torbjørn Ragnhild Espen Guro Sindre Liv Trond Nina Arne"
)
_DEMO_LAST = (
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Berg Haugen "
    "Hagen Strand Aune Moe Solberg Bakken Lund Rønning Dahl Sæther Hoff Lie Brekke Vik Fossum Løkken "
    "Ødegård Eggen"
)


def _ascii(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def default_users() -> list[DirectoryUser]:
    """The default directory: the known people and the demo's staff."""
    users = [new_user(upn, title) for title, upn in _KNOWN]
    users.append(new_user(f"portefoljekontoret@{DEMO_DOMAIN}", "Porteføljekontoret"))
    for first in _DEMO_FIRST.split():
        for last in _DEMO_LAST.split():
            users.append(new_user(f"{_ascii(first)}.{_ascii(last)}@{DEMO_DOMAIN}", f"{first} {last}"))
    return users
