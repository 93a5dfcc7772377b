"""scheduling: capacity advice runs (what-if) and their ranked changes

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 21:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | tuple[str, ...] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capacity_runs",
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("horizon_start", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("travel_limit_km", sa.Float(), nullable=False),
        sa.Column("runs_done", sa.Integer(), nullable=False),
        sa.Column("runs_total", sa.Integer(), nullable=False),
        sa.Column("patients_waiting", sa.Integer(), nullable=False),
        sa.Column("referrals_per_week", sa.Float(), nullable=False),
        sa.Column("baseline_wait_days", sa.Float(), nullable=True),
        sa.Column("baseline_wait_sd", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_capacity_runs_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_runs")),
    )
    op.create_table(
        "capacity_advice",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=True),
        sa.Column("therapist_id", sa.String(length=32), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("wait_cut_days", sa.Float(), nullable=False),
        sa.Column("wait_cut_sd", sa.Float(), nullable=False),
        sa.Column("p90_cut_days", sa.Float(), nullable=False),
        sa.Column("extra_patients", sa.Float(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_capacity_advice_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["device_models.id"],
            name=op.f("fk_capacity_advice_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["capacity_runs.id"], name=op.f("fk_capacity_advice_run_id_capacity_runs")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_capacity_advice_therapist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_advice")),
        sa.UniqueConstraint("run_id", "rank", name=op.f("uq_capacity_advice_run_id")),
    )
    op.create_index(op.f("ix_capacity_advice_run_id"), "capacity_advice", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_capacity_advice_run_id"), table_name="capacity_advice")
    op.drop_table("capacity_advice")
    op.drop_table("capacity_runs")
