"""sharing: federated training runs

Revision ID: 0030
Revises: 0026
Create Date: 2026-12-05 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federated_runs",
        sa.Column("requested_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "finished",
                "failed",
                name="federatedstatus",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column(
            "strategy",
            sa.Enum("fedavg", "fedprox", name="federatedstrategy", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("proximal_mu", sa.Float(), nullable=False),
        sa.Column("dp_noise_multiplier", sa.Float(), nullable=False),
        sa.Column("dp_clipping_norm", sa.Float(), nullable=False),
        sa.Column("dp_delta", sa.Float(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("clinic_ids", sa.JSON(), nullable=False),
        sa.Column("clinics", sa.JSON(), nullable=False),
        sa.Column("round_metrics", sa.JSON(), nullable=False),
        sa.Column("comparison", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_federated_runs_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_runs")),
    )


def downgrade() -> None:
    op.drop_table("federated_runs")
