"""Fixtures of the connect tests: a PostgreSQL MES for the tests that need a server.

``INSPKIT_TEST_PG`` is the URL of a test server (``.ci/start-postgres DIR``
starts one and prints it). Without it the PostgreSQL tests skip, except under
CI (``CI`` set), where they fail: CI must never skip them silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

PG_ENV = "INSPKIT_TEST_PG"


def server_url() -> str:
    """The test server's URL; skips the test without one, or fails it under CI."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set while CI is set; start a server with "
                    f".ci/start-postgres DIR and export the URL it prints as {PG_ENV}")
    pytest.skip(f"{PG_ENV} is not set (a test PostgreSQL's URL; .ci/start-postgres prints one)")


def with_params(url: str, **params: str) -> str:
    """``url`` with libpq query parameters added."""
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return url + ("&" if "?" in url else "?") + query


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to the test server whose tables live in a schema of this test only."""
    import psycopg

    base = server_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_params(base, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
