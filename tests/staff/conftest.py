"""The staff tests' clubs (tests/staff/clubs.py): a database of each kind with its owner."""

from __future__ import annotations

import pytest

from tests.staff.clubs import drop_cluster, make_cluster, new_club


@pytest.fixture(scope="session")
def staff_cluster(pg_server_url):
    """The session's PostgreSQL template and its databases (needs the server)."""
    cluster = make_cluster()
    yield cluster
    drop_cluster(cluster)


@pytest.fixture(params=["sqlite", "postgresql"])
def club(request, tmp_path, monkeypatch):
    """A migrated, empty club database of each kind, its key file, and its owner login."""
    yield from new_club(request, request.param, tmp_path, monkeypatch)


@pytest.fixture
def pg_club(request, tmp_path, monkeypatch):
    """A PostgreSQL club (the database's own enforcement)."""
    yield from new_club(request, "postgresql", tmp_path, monkeypatch)
