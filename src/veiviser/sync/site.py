"""The sync of one project site: read → diff → write, then history, summary and tokens.

The order is what makes a killed run safe to start again: the hub is written first, then the
history, then the site's summary, and the change tokens last. Until the tokens are stored, the
next run re-reads the same changes and converges (see docs/sync.md, "One site, step by step").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from veiviser.sharepoint.client import SiteClient
from veiviser.sync import diff
from veiviser.sync.discovery import ProjectSite
from veiviser.sync.history import RowSnapshot
from veiviser.sync.lists import KIND_ORDER, PROPERTIES, CentralList
from veiviser.sync.options import SyncOptions
from veiviser.sync.quality import Finding, check_site
from veiviser.sync.read import SITE_TOKEN, ListState, read_changes, read_rest, read_site_changes
from veiviser.sync.report import SiteOutcome
from veiviser.sync.schema import utcnow
from veiviser.sync.state import StateStore, TokenRecord
from veiviser.sync.write import PeopleCache, apply_actions, find_central_ids, update_register


@dataclass(frozen=True)
class RunContext:
    """What the sync of every site in one run shares."""

    hub: SiteClient
    store: StateStore
    central: dict[str, CentralList]  # per kind; entity types filled in once per run
    project_fields: dict[str, str]  # field types of the hub's Prosjekter
    people: PeopleCache
    options: SyncOptions
    run_id: int
    check_lock: Callable[[], None]  # raises when another run took the lock over


class SiteSync:
    """Sync of one project site (see the module docstring for the steps)."""

    def __init__(
        self,
        site: SiteClient,
        hub: SiteClient,
        project: ProjectSite,
        run: RunContext,
        tokens: dict[str, TokenRecord] | None = None,
    ) -> None:
        self.site = site
        self.hub = hub
        self.project = project
        self.store = run.store
        self.central = run.central
        self.project_fields = run.project_fields
        self.people = run.people
        self.options = run.options
        self.run_id = run.run_id
        self.now: datetime = utcnow()
        self.tokens = tokens  # preloaded for the whole run, else read here
        self.site_token: str | None = None  # the site collection's change token to store, if new

    def run(self, outcome: SiteOutcome) -> None:
        tokens = self.tokens if self.tokens is not None else self.store.tokens_for_url(self.project.url)
        quick = read_site_changes(self.site, tokens, self.options, self.now)
        site_id, states, self.site_token = quick or read_changes(
            self.site, self.project.url, tokens, self.options, self.now
        )
        outcome.site_id = site_id
        read_rest(self.site, self.project.url, states, self.options)
        if not any(st.changed for st in states.values()):
            # Nothing changed since the stored tokens, and tokens are stored only after the hub
            # and the history were written: the hub is in step. No more requests for this site.
            self._quiet(outcome, site_id)
            if self.site_token:  # the site's own token moves on (round zero needs one next time)
                self.store.set_tokens(self._tokens(site_id, {}), run_id=self.run_id)
            return
        previous = self.store.current_rows(site_id)
        cmap = self.store.central_map(site_id)

        # Project facts: Prosjektegenskaper item 1 (else the register entry).
        prop_item = diff.properties_item(states[PROPERTIES], previous.get(PROPERTIES, {}))
        project = diff.project_facts(site_id, self.project, prop_item)
        outcome.title = project["title"]

        current, deleted = diff.new_rows(states, previous, cmap, site_id)
        emails = diff.people_to_resolve(current, self.central)
        people = self.people.resolve(self.hub, emails) if emails else {}
        planned = diff.central_rows(current, project, self.central, people)
        unknown = diff.unknown_keys(planned, deleted, cmap)
        found = (
            find_central_ids(self.hub, self.central, site_id, unknown, cmap, self.options.keys_per_filter)
            if unknown
            else {}
        )
        actions = diff.diff(planned, deleted, cmap, found)
        counts = apply_actions(self.hub, self.store, self.central, site_id, actions)

        # History (after the hub write), then the register, the summary, and the tokens (last).
        self._record_history(site_id, project["title"], current, deleted, prop_item)
        changes = diff.register_changes(prop_item, project, self.project, self.project_fields)
        update_register(self.hub, self.project, changes, project["title"], counts)
        outcome.findings = check_site(
            self.project.url, {name: list(current[name].values()) for name in KIND_ORDER}
        )
        # The summary an unchanged site's next run reports from: written before the tokens, so a
        # run killed in between re-reads the changes and writes it again.
        self.store.set_site_summary(
            site_id,
            site_url=self.project.url,
            title=project["title"],
            rows=sum(len(current[name]) for name in KIND_ORDER),
            findings=[f.to_dict() for f in outcome.findings],
        )
        self.store.set_tokens(self._tokens(site_id, states), run_id=self.run_id)
        outcome.counts = counts
        outcome.counts["full_reads"] = sum(1 for st in states.values() if st.full)

    def _record_history(
        self,
        site_id: str,
        title: str,
        current: diff.Rows,
        deleted: dict[str, set[str]],
        prop_item: dict[str, Any] | None,
    ) -> None:
        url = self.project.url
        snapshots = [
            RowSnapshot(name, key, site_id, row, project_url=url, project_title=title)
            for name in KIND_ORDER
            for key, row in current[name].items()
        ]
        if prop_item is not None:
            snapshots.append(
                RowSnapshot(
                    PROPERTIES,
                    f"{site_id}:properties",
                    site_id,
                    prop_item,
                    project_url=url,
                    project_title=title,
                )
            )
        self.store.record_versions(snapshots, run_id=self.run_id, at=self.now)
        for name in KIND_ORDER:
            if deleted[name]:
                self.store.record_deletions(name, deleted[name], run_id=self.run_id, at=self.now)

    def _tokens(self, site_id: str, states: dict[str, ListState]) -> list[TokenRecord]:
        """The tokens to store: unchanged lists keep theirs (and its age); the site's own last."""
        records = [
            TokenRecord(site_id, name, st.list_id, token, self.now, self.project.url)
            for name, st in states.items()
            if (token := st.token_to_store) is not None
        ]
        if self.site_token:
            records.append(
                TokenRecord(site_id, SITE_TOKEN, site_id, self.site_token, self.now, self.project.url)
            )
        return records

    def _quiet(self, outcome: SiteOutcome, site_id: str) -> None:
        """Outcome of an unchanged site: counts and findings from its stored summary (one small read;
        from the history store's current rows when a store from an older version has none)."""
        summary = self.store.site_summary(site_id)
        if summary is None:
            previous = self.store.current_rows(site_id)
            props = next(iter(previous.get(PROPERTIES, {}).values()), {})
            findings = check_site(
                self.project.url, {name: list(previous.get(name, {}).values()) for name in KIND_ORDER}
            )
            summary = {
                "title": props.get("Title"),
                "rows": sum(len(previous.get(name, {})) for name in KIND_ORDER),
                "findings": [f.to_dict() for f in findings],
            }
            self.store.set_site_summary(site_id, site_url=self.project.url, **summary)
        outcome.title = summary["title"] or self.project.title or outcome.title
        outcome.counts = {
            "created": 0,
            "updated": 0,
            "deleted": 0,
            "unchanged": summary["rows"],
            "full_reads": 0,
        }
        outcome.findings = [
            Finding(
                self.project.url,
                f.get("list") or "",
                f.get("item_id"),
                f.get("field"),
                f.get("value"),
                f.get("rule") or "",
                f.get("message") or "",
            )
            for f in summary["findings"]
        ]
