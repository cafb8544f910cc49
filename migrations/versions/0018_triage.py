"""Triage: proposals and the analyst's decisions (read models), and what analysts type (issue 14)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

triage_proposals: one row per raised proposal (ProposalRaised), its state and the latest
decisions; triage_decisions: every decision, with its analyst. Both are read models, rebuilt from
the log. triage_texts: reasons and notes analysts typed, kept outside the hash chain (personal
data may be in them); the decision events carry only their opaque refs. triage_cursor: how far
through the log proposals have been derived.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: Union[str, Sequence[str], None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "triage_proposals",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("source_id", sa.String(120), nullable=False),
        sa.Column("jurisdiction", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("date", sa.String(40), nullable=True),
        sa.Column("identifier", sa.Text, nullable=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("match_item", sa.String(200), nullable=True),
        sa.Column("item_id", sa.String(200), nullable=True),
        sa.Column("assignee", sa.String(80), nullable=True),
        sa.Column("deferred_until", sa.String(40), nullable=True),
        sa.Column("impact", sa.String(10), nullable=True),
        sa.Column("evidence_position", sa.BigInteger, nullable=False),
        sa.Column("raised_position", sa.BigInteger, nullable=False),
        sa.Column("updated_position", sa.BigInteger, nullable=False),
        sa.Column("proposal", sa.Text, nullable=False),
    )
    op.create_index("ix_triage_proposals_state", "triage_proposals", ["state", "jurisdiction"])
    op.create_table(
        "triage_decisions",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("proposal_id", sa.String(20), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(80), nullable=True),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_triage_decisions_proposal_id", "triage_decisions", ["proposal_id"])
    op.create_table(
        "triage_texts",
        sa.Column("ref", sa.String(40), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "triage_cursor",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("triage_cursor")
    op.drop_table("triage_texts")
    op.drop_index("ix_triage_decisions_proposal_id", table_name="triage_decisions")
    op.drop_table("triage_decisions")
    op.drop_index("ix_triage_proposals_state", table_name="triage_proposals")
    op.drop_table("triage_proposals")
