"""Alembic environment: the engine comes from monitor.db (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import monitor.models  # noqa: F401 - registers the tables on SQLModel.metadata

target_metadata = SQLModel.metadata
engine = context.config.attributes.get("engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
