"""The regulatory record read models (issue 3: instruments, programs, products, sources)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Mirrors tracker/projections/record.py. JSON columns are canonical JSON text (both backends).
    op.create_table(
        "record_items",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("issuer", sa.Text, nullable=True),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("discipline", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("status_date", sa.String(40), nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("registered_position", sa.BigInteger, nullable=False),
        sa.Column("updated_position", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_record_items_jurisdiction_kind", "record_items", ["jurisdiction", "kind"])
    op.create_table(
        "record_steps",
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("date", sa.String(40), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_table(
        "record_relations",
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("relation", sa.String(40), primary_key=True),
        sa.Column("target_id", sa.String(200), primary_key=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_record_relations_target", "record_relations", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_record_relations_target", table_name="record_relations")
    op.drop_table("record_relations")
    op.drop_table("record_steps")
    op.drop_index("ix_record_items_jurisdiction_kind", table_name="record_items")
    op.drop_table("record_items")
