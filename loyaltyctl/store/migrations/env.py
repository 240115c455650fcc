"""Alembic environment: always run through loyaltyctl.store.migrate with a connection."""

from __future__ import annotations

from alembic import context

from loyaltyctl.store.tables import metadata

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
    compare_server_default=True,
)

with context.begin_transaction():
    context.run_migrations()
