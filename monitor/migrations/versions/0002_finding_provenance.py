"""Findings keep the outlet, title and published time of their article as seen.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from monitor.sqltypes import UTCTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("outlet", sa.Text(), nullable=True))
        batch.add_column(sa.Column("title", sa.Text(), nullable=True))
        batch.add_column(sa.Column("published_at", UTCTime(), nullable=True))
    # Findings made before this revision take their article's current values.
    source = "(SELECT {0} FROM article WHERE article.id = finding.article_id)"
    op.execute(
        "UPDATE finding SET "
        + ", ".join(f"{col} = {source.format(col)}" for col in ("outlet", "title", "published_at"))
    )


def downgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.drop_column("published_at")
        batch.drop_column("title")
        batch.drop_column("outlet")
