"""Contract tests: the gateway drives the real office365 client against the emulator over HTTP."""

from __future__ import annotations

import time

import pytest

from tests.support.emulator import connection_settings
from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import (
    NotFoundError,
    Operation,
    RateLimiter,
    RequestCounter,
    SiteClient,
    ThrottledError,
    connect,
    odata_literal,
)
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.sites import (
    create_site,
    join_hub,
    register_hub,
    site_info,
    site_status,
    wait_until_ready,
)

OWNER = "admin@contoso.onmicrosoft.com"


def _settings(server: EmulatorServer, **extra: object) -> ConnectionSettings:
    return connection_settings(server, **{"retry_max_total_seconds": 30, **extra})


@pytest.fixture
def counter() -> RequestCounter:
    return RequestCounter()


def _site(
    server: EmulatorServer, alias: str, counter: RequestCounter | None = None, **extra: object
) -> SiteClient:
    root = connect(server.url, _settings(server), limiter=RateLimiter(1e6, 1))
    status = site_status(root, f"{server.url}/sites/{alias}")
    if not status.ready:
        create_site(root, alias, f"Prosjekt {alias}", OWNER)
        wait_until_ready(root, f"{server.url}/sites/{alias}", timeout=30, interval=0.2)
    return connect(
        f"{server.url}/sites/{alias}",
        _settings(server, **extra),
        counter=counter,
        limiter=RateLimiter(1e6, 1),
    )


def _new_list(site: SiteClient, title: str) -> str:
    d = site.run(sp.create_list({"Title": title, "BaseTemplate": 100, "Description": ""}))
    return str(d["Id"])


def test_paging_when_item_count_equals_page_size(server: EmulatorServer, counter: RequestCounter) -> None:
    site = _site(server, "paging", counter)
    list_id = _new_list(site, "Paging")
    assert all(r.ok for r in site.create_items(list_id, [{"Title": f"T{n}"} for n in range(10)]))
    counter.reset()
    rows = list(site.iter_items(list_id, select=["Id", "Title"], page_size=5))
    assert [r["Title"] for r in rows] == [f"T{n}" for n in range(10)]
    assert counter.count("GET", "/items") <= 3  # terminates: no $skip fallback loop
    counter.reset()
    assert len(list(site.iter_items(list_id, page_size=10))) == 10
    assert counter.count("GET", "/items") <= 2


def test_batch_of_250_with_order_and_envelopes(server: EmulatorServer, counter: RequestCounter) -> None:
    site = _site(server, "bulk", counter)
    list_id = _new_list(site, "Bulk")
    counter.reset()
    results = site.create_items(list_id, [{"Title": f"R{n:03d}"} for n in range(250)])
    assert [r.key for r in results] == list(range(250)) and all(r.ok for r in results)
    ids = [r.value["Id"] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 250
    assert counter.count("POST", "_api/$batch") == 3  # 100 + 100 + 50
    titles = {r["Id"]: r["Title"] for r in site.iter_items(list_id, select=["Id", "Title"])}
    assert [titles[i] for i in ids] == [f"R{n:03d}" for n in range(250)]


def test_mixed_batch_runs_in_given_order(server: EmulatorServer) -> None:
    site = _site(server, "order")
    info = site.resolve_list(_new_list(site, "Order"))
    created = site.create_items(info, [{"Title": "A"}])[0].value["Id"]
    items = f"{info.path}/items"
    ops = [
        Operation(
            "MERGE",
            f"{items}({created})",
            {"Title": "B", "__metadata": {"type": info.entity_type}},
            key="merge",
        ),
        Operation("GET", f"{items}({created})?$select=Title", key="read-after-merge"),
        Operation("POST", items, {"Title": "C", "__metadata": {"type": info.entity_type}}, key="create"),
        Operation("GET", f"{items}?$filter=Title eq {odata_literal('C')}&$select=Id", key="find-created"),
    ]
    results = {r.key: r for r in site.batch(ops)}
    assert results["read-after-merge"].value["Title"] == "B"
    assert len(results["find-created"].value) == 1


def test_failing_row_is_reported_and_others_land(server: EmulatorServer) -> None:
    site = _site(server, "partial")
    list_id = _new_list(site, "Partial")
    rows = [{"Title": "ok1"}, {"Title": "bad", "GtNoSuchField": 1}, {"Title": "ok2"}]
    results = site.create_items(list_id, rows)
    assert [r.ok for r in results] == [True, False, True]
    err = results[1].error
    assert err is not None and err.list == "Partial" and err.site == site.url
    assert "GtNoSuchField" in str(err) and err.hint
    assert sorted(r["Title"] for r in site.iter_items(list_id)) == ["ok1", "ok2"]


def test_throttling_honours_retry_after(server: EmulatorServer, counter: RequestCounter) -> None:
    site = _site(server, "throttle", counter)
    list_id = _new_list(site, "Throttle")
    site.create_items(list_id, [{"Title": "x"}])
    server.faults.add(path=r"/items$", method="GET", status=429, retry_after=1, count=2, scope="top")
    counter.reset()
    started = time.monotonic()
    assert len(list(site.iter_items(list_id))) == 1
    assert time.monotonic() - started >= 2.0  # never earlier than Retry-After (1 s, twice)
    assert counter.count("GET", "/items") == 3


def test_throttling_cap_raises_clear_error(server: EmulatorServer) -> None:
    site = _site(server, "capped", retry_max_attempts=2, retry_max_total_seconds=5)
    list_id = _new_list(site, "Capped")
    server.faults.add(path=r"/items$", method="GET", status=503, retry_after=1, scope="top")
    with pytest.raises(ThrottledError, match="throttled") as info:
        list(site.iter_items(list_id))
    assert info.value.hint and "2 attempts" in str(info.value)


def test_digest_expiry_is_recovered(server: EmulatorServer) -> None:
    site = _site(server, "digest")
    list_id = _new_list(site, "Digest")
    assert site.create_items(list_id, [{"Title": "before"}])[0].ok
    server.expire_digests()
    assert site.create_items(list_id, [{"Title": "after"}])[0].ok
    assert sorted(r["Title"] for r in site.iter_items(list_id)) == ["after", "before"]


def test_norwegian_list_title_by_title_and_id(server: EmulatorServer) -> None:
    site = _site(server, "maal")
    list_id = _new_list(site, "Måleindikatorer")
    site.create_items("Måleindikatorer", [{"Title": "Andel digitale søknader"}])
    by_title = list(site.iter_items("Måleindikatorer"))
    by_id = list(site.iter_items(list_id))
    assert [r["Title"] for r in by_title] == [r["Title"] for r in by_id] == ["Andel digitale søknader"]
    with pytest.raises(NotFoundError, match="Finnes ikke"):
        site.resolve_list("Finnes ikke")


def test_counter_counts_contextinfo_and_batch_envelopes(
    server: EmulatorServer, counter: RequestCounter
) -> None:
    site = _site(server, "count", counter)
    list_id = _new_list(site, "Count")
    site.create_items(list_id, [{"Title": str(n)} for n in range(5)])
    assert counter.count("POST", "_api/contextinfo") == 1
    assert counter.count("POST", "_api/$batch") == 1
    assert counter.total == sum(counter.snapshot().values())


def test_site_creation_status_and_hub_join(server: EmulatorServer) -> None:
    root = connect(server.url, _settings(server))
    created = create_site(root, "hub", "Porteføljehub", OWNER)
    assert created.url.endswith("/sites/hub")
    assert wait_until_ready(root, created.url, timeout=30, interval=0.2).ready
    assert root.url == server.url  # the caller's client is not re-pointed
    hub = root.for_site(created.url)
    hub_id = register_hub(hub)
    assert site_info(hub).is_hub
    project = _site(server, "alfa")
    join_hub(project, hub_id)
    assert site_info(project).hub_site_id == hub_id


def test_random_faults_still_give_exact_results(server: EmulatorServer) -> None:
    site = _site(server, "chaos", retry_max_attempts=15, retry_max_total_seconds=120)
    list_id = _new_list(site, "Chaos")
    server.faults.set_random(0.3, (429, 503), retry_after=0, seed=7)
    results = site.create_items(list_id, [{"Title": f"C{n}"} for n in range(120)])
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    titles = sorted(r["Title"] for r in site.iter_items(list_id, page_size=25))
    server.faults.set_random(0.0)
    assert titles == sorted(f"C{n}" for n in range(120))


@pytest.mark.parametrize("status", [429, 503])
def test_whole_batch_throttle_is_retried_after_retry_after(
    server: EmulatorServer, counter: RequestCounter, status: int
) -> None:
    site = _site(server, f"envelope{status}", counter)
    list_id = _new_list(site, "Envelope")
    server.faults.add(path=r"\$batch", status=status, retry_after=1, count=1, scope="top")
    counter.reset()
    started = time.monotonic()
    results = site.create_items(list_id, [{"Title": "once"}, {"Title": "twice"}])
    assert time.monotonic() - started >= 1.0  # not before Retry-After
    assert [r.ok for r in results] == [True, True]
    assert counter.count("POST", "_api/$batch") == 2 and counter.statuses().get(status) == 1
    assert sorted(r["Title"] for r in site.iter_items(list_id)) == ["once", "twice"]  # no duplicates


def test_batch_part_throttle_waits_for_retry_after(server: EmulatorServer, counter: RequestCounter) -> None:
    site = _site(server, "partwait", counter)
    list_id = _new_list(site, "Part")
    # A lower-case ``retry-after`` in the sub-response must be honoured, not replaced by backoff.
    server.faults.add(path=r"/items$", method="POST", status=429, retry_after=2, count=1, scope="batch-part")
    started = time.monotonic()
    results = site.create_items(list_id, [{"Title": "a"}, {"Title": "b"}])
    assert time.monotonic() - started >= 2.0
    assert all(r.ok for r in results) and results[0].attempts == 2
    assert sorted(r["Title"] for r in site.iter_items(list_id)) == ["a", "b"]


def test_batched_first_page_exposes_next_link(server: EmulatorServer, counter: RequestCounter) -> None:
    site = _site(server, "nextlink", counter)
    list_id = _new_list(site, "Pages")
    site.create_items(list_id, [{"Title": f"P{n}"} for n in range(12)])
    counter.reset()
    first, small = site.batch(
        [
            Operation("GET", f"Web/lists(guid'{list_id}')/items?$select=ID,Title&$top=5", key="big"),
            Operation("GET", f"Web/lists(guid'{list_id}')/items?$select=ID,Title&$top=50", key="all"),
        ]
    )
    assert len(first.value) == 5 and first.next_url and "skiptoken" in first.next_url.lower()
    assert len(small.value) == 12 and small.next_url is None
    rest = list(site.rest_of_pages(first))
    assert [r["Title"] for r in first.value] + [r["Title"] for r in rest] == [f"P{n}" for n in range(12)]
    assert list(site.rest_of_pages(small)) == []
    assert counter.count("GET", "/items") == 2  # pages 2 and 3 only; the first page is not re-read


def test_for_site_can_share_the_form_digest(server: EmulatorServer, counter: RequestCounter) -> None:
    hub = _site(server, "digesthub", counter)
    other = _site(server, "digestother")
    list_id = _new_list(other, "Shared")
    counter.reset()
    shared = hub.for_site(other.url, share_digest=True)
    assert shared.create_items(list_id, [{"Title": "a"}])[0].ok
    assert counter.count("POST", "_api/contextinfo") == 1  # the hub's, fetched once; none for the other site
    again = hub.for_site(other.url, share_digest=True)
    assert again.create_items(list_id, [{"Title": "b"}])[0].ok
    assert counter.count("POST", "_api/contextinfo") == 1
    server.expire_digests()  # a refused digest: the client fetches the site's own and re-sends once
    assert again.create_items(list_id, [{"Title": "c"}])[0].ok
    assert sorted(r["Title"] for r in other.iter_items(list_id)) == ["a", "b", "c"]
