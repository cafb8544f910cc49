"""Volatile lines are looked for at a page's first change, not at every baseline (issue 18)

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-05

source_state.volatile_probed: whether a second, immediate fetch has looked for lines that change
on every request (services/check_volatile.py). Until now every page was fetched twice at its
baseline for that; now a page is fetched twice only the first time its text differs from its
accepted version. A source baselined before this migration was probed at its baseline: true.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: Union[str, Sequence[str], None] = "0027"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.add_column(sa.Column("volatile_probed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE source_state SET volatile_probed = :yes WHERE content_hash IS NOT NULL")
               .bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("volatile_probed")
