"""The sync of one project site: read → diff → write, then history, summary and tokens.

The order is what makes a killed run safe to start again: the hub is written first, then the
history, then the site's summary, and the change tokens last. Until the tokens are stored, the
next run re-reads the same changes and converges (see docs/sync.md, "One site, step by step").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from veiviser.sharepoint.client import SiteClient
from veiviser.sync import diff, feedback
from veiviser.sync.discovery import ProjectSite
from veiviser.sync.history import RowSnapshot
from veiviser.sync.lists import KIND_ORDER, PROPERTIES, CentralList
from veiviser.sync.options import SyncOptions
from veiviser.sync.quality import QualityFinding, check_site
from veiviser.sync.read import SITE_TOKEN, ListState, list_title, read_changes, read_rest, read_site_changes
from veiviser.sync.report import Interrupted, SiteOutcome
from veiviser.sync.schema import utcnow
from veiviser.sync.signals import Stop
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
    stop: Stop = field(default_factory=Stop)  # set by SIGINT/SIGTERM: write nothing new


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
        self.stop = run.stop
        self.now: datetime = utcnow()
        self.tokens = tokens  # preloaded for the whole run, else read here
        self.held_lists: list[str] = []  # the lists whose deletions the guard held back
        self.deletions_held = False
        self.site_token: str | None = None  # the site collection's change token to store, if new

    def run(self, outcome: SiteOutcome) -> None:
        tokens = self.tokens if self.tokens is not None else self.store.tokens_for_url(self.project.url)
        self.tokens = tokens
        quick = read_site_changes(self.site, tokens, self.options, self.now)
        site_id, states, self.site_token = quick or read_changes(
            self.site, self.project.url, tokens, self.options, self.now
        )
        if any(st.missing or st.found_as for st in states.values()):
            # A missing or renamed list is counted run by run in round one (docs/sync.md, "A missing
            # list"): no site token, so round zero cannot pass such a site off as unchanged.
            self.site_token = None
        outcome.site_id = site_id
        read_rest(self.site, self.project.url, states, self.options)
        missing = [name for name, st in states.items() if st.missing]
        if not missing and not any(st.changed for st in states.values()):
            # Nothing changed since the stored tokens, and tokens are stored only after the hub
            # and the history were written: the hub is in step. No more requests for this site.
            self._quiet(outcome, site_id)
            if self.options.feedback:  # from the store's rows: no request unless the text changed
                self._feedback(outcome, site_id, self.store.current_rows(site_id))
            if self.site_token:  # the site's own token moves on (round zero needs one next time)
                self.store.set_tokens(self._tokens(site_id, {}), run_id=self.run_id)
            return
        previous = self.store.current_rows(site_id)
        cmap = self.store.central_map(site_id)
        stored = (self.store.site_summary(site_id) or {}).get("findings", []) if missing else []
        missing_runs, gone = diff.missing_lists(states, stored, self.options.missing_list_runs)

        # Project facts: Prosjektegenskaper item 1 (else the register entry).
        prop_item = diff.properties_item(states[PROPERTIES], previous.get(PROPERTIES, {}))
        project = diff.project_facts(site_id, self.project, prop_item)
        outcome.title = project["title"]

        current, deleted = diff.new_rows(states, previous, cmap, site_id, gone)
        held = self._guard(current, deleted, previous)
        if held is not None:
            current, deleted = diff.hold_deletions(current, deleted, previous)
        sync_findings = self._list_findings(states, missing_runs, previous, held)
        emails = diff.people_to_resolve(current, self.central)
        people = self.people.resolve(self.hub, emails) if emails else {}
        sync_findings += [self._person_finding(p) for p in diff.unknown_people(current, self.central, people)]
        planned = diff.central_rows(current, project, self.central, people)
        planned, outside = diff.drop_outside_choices(planned, current, self.central)
        sync_findings += [self._choice_finding(c) for c in outside]
        unknown = diff.unknown_keys(planned, deleted, cmap)
        # A list read in full is also compared with all the site's rows on the hub: hub items a
        # killed run wrote without recording them, whose source items are gone, are deleted.
        whole = {name for name in KIND_ORDER if states[name].full}
        found = (
            find_central_ids(
                self.hub, self.central, site_id, unknown, cmap, self.options.keys_per_filter, whole
            )
            if unknown or whole
            else {}
        )
        for name, keys in diff.orphans(found, planned, deleted, whole).items():
            deleted[name] |= keys
        actions = diff.diff(planned, deleted, cmap, found)
        if self.stop.is_set():  # nothing written yet: stop here; the next run reads the same changes
            raise Interrupted("stopped before its writes: the run was stopped")
        counts = apply_actions(self.hub, self.store, self.central, site_id, actions)

        # History (after the hub write), then the register, the summary, and the tokens (last).
        self._record_history(site_id, project["title"], current, deleted, prop_item)
        changes = diff.register_changes(prop_item, project, self.project, self.project_fields)
        update_register(self.hub, self.project, changes, project["title"], counts)
        outcome.findings = sync_findings + check_site(
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
        # Held deletions stay in the change log: their lists keep the old tokens, so the next run
        # sees the deletions again (and lets them through with --allow-mass-delete).
        self.deletions_held = held is not None
        keep_old = set(self.held_lists) if held is not None else set()
        self.store.set_tokens(
            [t for t in self._tokens(site_id, states) if t.list_name not in keep_old], run_id=self.run_id
        )
        outcome.counts = counts
        if held is not None:
            outcome.counts["deletions_held"] = held.deleting
        if self.options.feedback:
            self._feedback(outcome, site_id, current)
        outcome.counts["full_reads"] = sum(1 for st in states.values() if st.full)

    def _guard(
        self, current: diff.Rows, deleted: dict[str, set[str]], previous: diff.Rows
    ) -> diff.MassDeletion | None:
        """The mass deletion this read would be (None when within bounds or allowed)."""
        self.held_lists = [name for name in KIND_ORDER if deleted[name]]
        if self.options.allow_mass_delete:
            return None
        return diff.mass_deletion(
            previous,
            deleted,
            min_rows=self.options.mass_delete_min_rows,
            max_share=self.options.mass_delete_share,
        )

    def _list_findings(
        self,
        states: dict[str, ListState],
        missing_runs: dict[str, int],
        previous: diff.Rows,
        held: diff.MassDeletion | None,
    ) -> list[QualityFinding]:
        """The sync's own findings about the site: missing and renamed lists, held deletions."""
        url, confirm = self.project.url, self.options.missing_list_runs
        out: list[QualityFinding] = []
        for name, runs in missing_runs.items():
            title = states[name].title
            if runs < confirm:
                kept = len(previous.get(name, {}))
                message = (
                    f"The list {title!r} is missing at {url} (run {runs} of {confirm}): its {kept} rows stay in "
                    f"the portfolio until it has been missing for {confirm} runs. Restore it from the site's "
                    "recycle bin, or give it back its title if it was renamed."
                )
            else:
                message = (
                    f"The list {title!r} has been missing at {url} for {runs} runs: its rows are removed from "
                    "the portfolio. Re-create it ('veiviser provision upgrade') if the project needs it."
                )
            out.append(QualityFinding(url, title, None, None, runs, diff.LIST_MISSING, message))
        for name, st in states.items():
            if st.found_as:
                title = list_title(name)
                message = (
                    f"The list {title!r} at {url} is now called {st.found_as!r}; it is synced under that "
                    f"title but read in full every run. Rename it back to {title!r}: the portfolio and "
                    "Prosjektportalen expect that title."
                )
                out.append(QualityFinding(url, title, None, None, st.found_as, "list-renamed", message))
        for st in states.values():
            for column in sorted(st.missing_columns):
                message = (
                    f"The list {st.title!r} at {url} has no column {column!r}: its rows are synced without "
                    "it (empty in the portfolio). Add the column with 'veiviser provision upgrade', or leave "
                    "it if the project does not use it."
                )
                out.append(QualityFinding(url, st.title, None, column, None, diff.COLUMN_MISSING, message))
        if held is not None:
            emptied = ", ".join(repr(list_title(n)) for n in held.emptied)
            what = f" (every row of {emptied})" if emptied else ""
            message = (
                f"This run would delete {held.deleting} of the site's {held.rows} rows{what}: nothing was "
                f"deleted for {url}. If that is intended, run again with --allow-mass-delete; otherwise "
                "restore the items from the site's recycle bin."
            )
            out.append(QualityFinding(url, "", None, None, held.deleting, "mass-delete-held", message))
        return out

    def _feedback(self, outcome: SiteOutcome, site_id: str, rows: diff.Rows) -> None:
        """The portfolio's feedback on the project site, written only when its text changed
        (its hash is kept with the site's tokens; docs/sync.md, "Feedback to the project")."""
        title = outcome.title or self.project.title or self.project.url
        sections = feedback.feedback_lines(rows, outcome.findings, self.now.date())
        text = feedback.feedback_text(title, sections)
        digest = feedback.feedback_hash(text)
        record = (self.tokens or {}).get(feedback.STATE_NAME)
        known = feedback.FeedbackState.from_record(record.list_id, record.token) if record else None
        if known is not None and known.digest == digest:
            return
        state = feedback.write_feedback(self.site, self.project.url, text, digest, known)
        record = TokenRecord(
            site_id, feedback.STATE_NAME, state.list_id, state.token(), self.now, self.project.url
        )
        self.store.set_tokens([record], run_id=self.run_id)
        outcome.counts["feedback_written"] = 1

    def _choice_finding(self, c: diff.OutsideChoice) -> QualityFinding:
        title = list_title(c.kind)
        choices = ", ".join(repr(x) for x in c.choices)
        message = (
            f"{title} item {c.item_id} at {self.project.url}: {c.field} is {c.value!r}, which is not one of "
            f"the portfolio's choices ({choices}); the row is copied without it. Choose one of those "
            "values in the item, or add the value to the column's choices on the hub and the project sites."
        )
        return QualityFinding(
            self.project.url, title, c.item_id, c.field, c.value, diff.CHOICE_OUTSIDE, message
        )

    def _person_finding(self, person: diff.UnknownPerson) -> QualityFinding:
        title = list_title(person.kind)
        message = (
            f"{title} item {person.item_id} at {self.project.url}: the person {person.login!r} in "
            f"{person.field} is not known on the hub (not in the tenant's directory, or gone): the row "
            "is in the portfolio without that person. Correct the person at the source."
        )
        return QualityFinding(
            self.project.url, title, person.item_id, person.field, person.login, "person-unknown", message
        )

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
        if self.site_token and not self.deletions_held:  # held deletions must be seen again next run
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
            QualityFinding(
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
