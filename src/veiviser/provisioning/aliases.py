"""Site aliases now live in :mod:`veiviser.schemas.aliases` (the schemas need them to validate a
``ProjectSpec``, and schemas must not import provisioning). This module re-exports them for
existing importers."""

from veiviser.schemas.aliases import (
    ALIAS_MAX_LENGTH,
    HASH_LENGTH,
    RESERVED_ALIASES,
    RESERVED_SUFFIX,
    alias_problem,
    alias_with_hash,
    ascii_words,
    derive_alias,
    normalize_title,
    title_hash,
    validate_alias,
)

__all__ = [
    "ALIAS_MAX_LENGTH",
    "HASH_LENGTH",
    "RESERVED_ALIASES",
    "RESERVED_SUFFIX",
    "alias_problem",
    "alias_with_hash",
    "ascii_words",
    "derive_alias",
    "normalize_title",
    "title_hash",
    "validate_alias",
]
