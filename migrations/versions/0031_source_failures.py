"""source_failures: the sources failing now, one row each with its failure class and host (issue 12)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05

Kept beside source_state by checking (services/source_failures.py), in the same transaction, so a
digest reads the failing sources counted by class and host instead of scanning source_state.
Filled here from source_state as it is, each host from the source's URL now.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.services.source_failures import FAILING_STATES, failure_class, host_of

revision: str = "0031"
down_revision: Union[str, Sequence[str], None] = "0030"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    table = op.create_table(
        "source_failures",
        sa.Column("source_id", sa.String(120), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("error_class", sa.String(40), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_index("ix_source_failures_groups", "source_failures", ["state", "error_class", "host"])
    failing = op.get_bind().execute(
        sa.text("SELECT st.source_id, st.state, st.last_error_class, s.url FROM source_state st"
                " LEFT JOIN sources s ON s.id = st.source_id WHERE st.state IN :states")
        .bindparams(sa.bindparam("states", expanding=True)),
        {"states": list(FAILING_STATES)},
    ).all()
    if failing:
        op.bulk_insert(table, [
            {"source_id": source_id, "state": state, "error_class": failure_class(state, error_class),
             "host": host_of(url or "")}
            for source_id, state, error_class, url in failing
        ])


def downgrade() -> None:
    op.drop_index("ix_source_failures_groups", table_name="source_failures")
    op.drop_table("source_failures")
