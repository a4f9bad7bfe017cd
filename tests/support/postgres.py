"""The state store on PostgreSQL in tests: one throw-away schema per test in the CI database.

``VEIVISER_TEST_POSTGRES_URL`` names the database (``.ci/run`` creates it and sets the variable,
e.g. ``postgresql+psycopg:///veiviser_test?host=/var/run/postgresql``). Without it the PostgreSQL
cases are skipped with the reason shown, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

ENV = "VEIVISER_TEST_POSTGRES_URL"


def base_url() -> str:
    """The test database's URL, or skip (outside CI) / fail (in CI) when none is configured."""
    url = os.environ.get(ENV)
    if url:
        return url
    reason = (
        f"PostgreSQL store tests need {ENV} (a database this user may create schemas in; "
        ".ci/run installs PostgreSQL and sets it)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: it is missing in CI", pytrace=False)
    pytest.skip(reason)


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped afterwards."""
    url = sa.make_url(base_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
