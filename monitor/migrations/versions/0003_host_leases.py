"""Several workers: each feed and article knows its host, and hosts are leased to one worker.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from monitor.sqltypes import UTCTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from monitor.hosts import host_of

    with op.batch_alter_table("feed") as batch:
        batch.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch.create_index("ix_feed_host", ["host"])
    with op.batch_alter_table("article") as batch:
        batch.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch.create_index("ix_article_host", ["host"])
    op.create_table(
        "host_lease",
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("lease_until", UTCTime(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )
    # Rows made before this revision get their host from their URL.
    conn = op.get_bind()
    for table, expr in (("feed", "COALESCE(current_url, url)"), ("article", "url")):
        rows = conn.execute(sa.text(f"SELECT id, {expr} FROM {table}")).all()  # noqa: S608
        if rows:
            conn.execute(
                sa.text(f"UPDATE {table} SET host = :host WHERE id = :id"),  # noqa: S608
                [{"id": i, "host": host_of(u)} for i, u in rows],
            )


def downgrade() -> None:
    op.drop_table("host_lease")
    with op.batch_alter_table("article") as batch:
        batch.drop_index("ix_article_host")
        batch.drop_column("host")
    with op.batch_alter_table("feed") as batch:
        batch.drop_index("ix_feed_host")
        batch.drop_column("host")
