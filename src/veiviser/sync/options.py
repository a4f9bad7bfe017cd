"""The tunables of a sync run (workers, token age, page and filter sizes, which sites)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class SyncOptions:
    """Tunables of a run."""

    workers: int = 4
    #: Older change tokens are not trusted: SharePoint never reports an expired token
    #: (see docs/sync.md, "Change tokens").
    token_max_age: timedelta = timedelta(days=45)
    page_size: int = 5000
    ids_per_filter: int = 40
    keys_per_filter: int = 20
    lock_ttl: timedelta = timedelta(minutes=1)  # renewed every 20 s (docs/sync.md, "The run lock")
    extra_sites: tuple[str, ...] = ()
    joined: bool = True  # also sync sites joined to the hub that the register misses
    #: A missing source list's rows stay on the hub until it has been missing this many runs
    #: (docs/sync.md, "A missing list").
    missing_list_runs: int = 3
    #: Let a mass deletion through (docs/sync.md, "The mass-deletion guard").
    allow_mass_delete: bool = False
    mass_delete_min_rows: int = 10
    mass_delete_share: float = 0.5
    #: Write the portfolio's feedback to each project site (docs/sync.md, "Feedback to the project").
    feedback: bool = False
