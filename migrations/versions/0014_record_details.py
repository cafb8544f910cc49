"""Provenance of record steps and relations: a JSON ``details`` column on each

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

A step can say where its date comes from (date_basis) and that it is from outside the review
(external, source); a relation can be marked external or the analyst's inference (inferred,
basis) and carry a date. Both read-model tables get one nullable JSON text column for these
(NULL: none given). The tables are a projection: a rebuild fills the column for old events.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("record_steps", sa.Column("details", sa.Text(), nullable=True))
    op.add_column("record_relations", sa.Column("details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record_relations") as batch:
        batch.drop_column("details")
    with op.batch_alter_table("record_steps") as batch:
        batch.drop_column("details")
