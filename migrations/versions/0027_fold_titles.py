"""The record's one fold keeps renames' titles: record_steps.title_zh/title_en, digest_index.renames (issue 11.5)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04

A renamed step that is corrected or retracted (StepCorrected) names the item again by the
latest-dated rename left: the record projection keeps each rename's title on its step row, the
digest index the item's own title and live renames. Both are projections: they are emptied and
their checkpoints dropped here, so the next read rebuilds them from the log with the columns filled.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: Union[str, Sequence[str], None] = "0026"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("record_steps", sa.Column("title_zh", sa.Text(), nullable=True))
    op.add_column("record_steps", sa.Column("title_en", sa.Text(), nullable=True))
    op.add_column("digest_index", sa.Column("renames", sa.Text(), nullable=True))
    for table in ("record_relations", "record_steps", "record_items", "digest_index", "digest_effective"):
        op.execute(f"DELETE FROM {table}")
    op.execute("DELETE FROM projection_quarantine WHERE projection IN ('record', 'digest_index')")
    op.execute("DELETE FROM projection_checkpoints WHERE name IN ('record', 'digest_index')")


def downgrade() -> None:
    with op.batch_alter_table("digest_index") as batch:
        batch.drop_column("renames")
    with op.batch_alter_table("record_steps") as batch:
        batch.drop_column("title_en")
        batch.drop_column("title_zh")
