"""Site aliases: the URL segment of a project site (``/sites/<alias>``), derived from its title.

Rules (decided here; the provisioning engine relies on them):

* An alias is 1–40 characters of ``a-z``, ``0-9`` and ``-``, starts and ends with a letter or digit and
  has no ``--``. Norwegian letters are spelled out (æ→ae, ø→o, å→a); other accents are stripped;
  parentheses and punctuation become word breaks.
* :func:`derive_alias` is a **pure function of the title**: the same title gives the same alias in
  every run, whatever other rows the file holds. That is what makes it stable under insertion and
  removal of rows.
* A title too long for 40 characters that ends in a parenthesised short name, one word with a
  capital letter such as «… i barnevernet (DigiBarnevern)», gets that short name (``digibarnevern``):
  it is what people call the project. Any other over-long title is cut at a word boundary and gets
  ``-`` plus a 6-character hash of the full title, so two long titles that share their first words
  still get different aliases without either depending on the other.
* Titles that still give the same alias differ only in case, accents, punctuation or spacing; the
  bulk reader treats them as the same project entered twice (see ``bulk_input``), it never renames
  one of them behind the user's back.
* A derived alias that is a reserved name (:data:`RESERVED_ALIASES`) gets ``-prosjekt`` appended. An
  explicit alias that is reserved or malformed is rejected by :func:`validate_alias`.
* An alias already used by another site (one not made from this row) is resolved with
  :func:`alias_with_hash`: ``<alias>-<hash of title>``, again a pure function of the title.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ALIAS_MAX_LENGTH = 40
"""Longest alias we produce or accept. SharePoint allows more, but site URLs are typed and read."""

HASH_LENGTH = 6

RESERVED_ALIASES: frozenset[str] = frozenset(
    {
        # Managed paths and system segments of SharePoint Online URLs.
        "sites",
        "teams",
        "portals",
        "personal",
        "search",
        "my",
        "admin",
        "api",
        "layouts",
        "catalogs",
        "vti-bin",
        "lists",
        "sitepages",
        "forms",
        "shared-documents",
        "delte-dokumenter",
        # Names a portfolio hub typically uses for itself.
        "hub",
        "portefolje",
        "prosjektportal",
        "prosjektportalen",
        "root",
        "www",
    }
)
"""Aliases never given to a project site: managed paths (``sites``, ``teams``…), system URL
segments (``_api``, ``_layouts``, ``_vti_bin`` after normalisation) and common hub names."""

RESERVED_SUFFIX = "-prosjekt"

_SHORT_NAME_RE = re.compile(r"\(\s*([^\s()]{3,})\s*\)\s*$")
_ALIAS_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPELL_OUT = str.maketrans(
    {"æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "å": "a", "Å": "a", "ß": "ss", "þ": "th", "ð": "d", "đ": "d"}
)


def ascii_words(text: str) -> list[str]:
    """Lower-case ASCII words of ``text`` (Norwegian letters spelled out, accents stripped)."""
    text = unicodedata.normalize("NFC", text).translate(_SPELL_OUT)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.findall(r"[a-z0-9]+", text.encode("ascii", "ignore").decode("ascii"))


def normalize_title(title: str) -> str:
    """The title as compared for identity: NFC, case-folded, runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFC", title).casefold().split())


def title_hash(title: str, length: int = HASH_LENGTH) -> str:
    """A short, stable hex hash of the normalised title (SHA-256; not a secret, just a tag)."""
    return hashlib.sha256(normalize_title(title).encode("utf-8")).hexdigest()[:length]


def _join_within(words: list[str], limit: int) -> str:
    """Join whole words with hyphens up to ``limit`` characters; a single over-long word is cut."""
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    if not out and words:
        out = words[0][:limit]
    return out


def derive_alias(title: str, max_length: int = ALIAS_MAX_LENGTH) -> str:
    """The alias for ``title``: a pure, stable function (see the module docstring for the rules).

    >>> derive_alias("Meldeboka (utstyr barnehage)")
    'meldeboka-utstyr-barnehage'
    >>> derive_alias("Læringsplattform")
    'laeringsplattform'
    >>> derive_alias("Nasjonalt prosjekt - Digitale innbyggertjenester og saksbehandlingsstøtte i barnevernet (DigiBarnevern)")
    'digibarnevern'
    """
    words = ascii_words(title)
    if not words:
        # Nothing readable (e.g. only symbols or a non-Latin script): a neutral prefix plus the hash.
        return f"prosjekt-{title_hash(title)}"
    full = "-".join(words)
    short = _SHORT_NAME_RE.search(title)
    if len(full) <= max_length:
        alias = full
    elif short and any(ch.isupper() for ch in short.group(1)) and ascii_words(short.group(1)):
        alias = _join_within(ascii_words(short.group(1)), max_length)
    else:
        alias = f"{_join_within(words, max_length - HASH_LENGTH - 1)}-{title_hash(title)}"
    if alias in RESERVED_ALIASES:
        alias += RESERVED_SUFFIX
    return alias


def alias_with_hash(alias: str, title: str, max_length: int = ALIAS_MAX_LENGTH) -> str:
    """``alias`` made distinct by a hash of ``title``: ``<alias cut at a word>-<hash>``."""
    head = _join_within(alias.split("-"), max_length - HASH_LENGTH - 1)
    return f"{head}-{title_hash(title)}"


def alias_problem(alias: str, max_length: int = ALIAS_MAX_LENGTH) -> str | None:
    """Why ``alias`` is not a valid explicit alias, or ``None`` if it is."""
    if not alias:
        return "the alias is empty"
    if len(alias) > max_length:
        return f"the alias is {len(alias)} characters long; at most {max_length} are allowed"
    if not _ALIAS_RE.match(alias):
        return (
            "an alias may only hold lower-case letters a-z, digits and single hyphens between them "
            f"(for example {derive_alias(alias, max_length)!r})"
        )
    if alias in RESERVED_ALIASES:
        return f"{alias!r} is a reserved name in SharePoint or for the hub; choose another alias"
    return None


def validate_alias(alias: str, max_length: int = ALIAS_MAX_LENGTH) -> str:
    """Return ``alias`` if it is valid; raise ``ValueError`` saying what is wrong otherwise."""
    problem = alias_problem(alias, max_length)
    if problem:
        raise ValueError(problem)
    return alias
