"""The due query's index: source_state by (coalesce(next_due_at, ''), source_id) (issue 18)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05

claim_due_sources asked for `next_due_at IS NULL OR next_due_at <= now` in (NULLs first,
next_due_at, source_id) order: no index served that, so every claim walked all of source_state,
10,000 rows to find 100 due. Written as coalesce(next_due_at, '') <= now, in the order of this
index, it reads only the due rows (and none at all when nothing is due).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: Union[str, Sequence[str], None] = "0029"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_source_state_due", "source_state", [sa.text("coalesce(next_due_at, '')"), "source_id"])


def downgrade() -> None:
    op.drop_index("ix_source_state_due", table_name="source_state")
