"""Session state and transaction pooling: nothing is prepared server-side unless the
database URL asks for it (`?prepare_threshold=N`)."""

from __future__ import annotations

import pytest

from loyaltyctl.domain.errors import ConfigProblem
from loyaltyctl.store.db import Database, prepare_threshold


def test_nothing_is_prepared_unless_the_url_asks():
    assert prepare_threshold("postgresql+psycopg://u@h/db") == ("postgresql+psycopg://u@h/db", None)
    url, threshold = prepare_threshold("postgresql+psycopg://u:pw@h:5432/db?prepare_threshold=5")
    assert (url, threshold) == ("postgresql+psycopg://u:pw@h:5432/db", 5)
    assert prepare_threshold("postgresql+psycopg://u@h/db?prepare_threshold=none")[1] is None


def test_a_bad_threshold_is_a_configuration_problem():
    with pytest.raises(ConfigProblem, match="prepare_threshold='often'"):
        prepare_threshold("postgresql+psycopg://u@h/db?prepare_threshold=often")


def test_the_engine_gives_psycopg_the_threshold(pg_server_url):
    """A statement run many times on one connection stays unprepared by default, and is
    prepared after N runs when the URL asks (psycopg's `prepared_max` cache)."""
    from sqlalchemy import text

    for suffix, expected in (("", 0), ("?prepare_threshold=2", 1)):
        db = Database(pg_server_url + suffix)
        with db.engine.connect() as conn:
            for _ in range(6):
                conn.execute(text("SELECT 1 + 1")).scalar()
                conn.commit()
            prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        db.dispose()
        assert prepared == expected, suffix
