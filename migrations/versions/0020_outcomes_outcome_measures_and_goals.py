"""outcomes: outcome measures (item-level, voided never deleted) and goals

Revision ID: 0020
Revises: 0010
Create Date: 2026-12-05 18:22:19.734455
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_goals",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column(
            "measure",
            sa.Enum(
                "ten_mwt_comfortable_mps",
                "ten_mwt_fast_mps",
                "six_mwt_m",
                "tug_s",
                "berg",
                "fac",
                "mrs",
                "tct",
                "motricity_leg",
                "wisci_ii",
                "device_gait_speed_mps",
                "device_distance_m",
                "device_cadence_steps_per_min",
                "device_step_time_symmetry_pct",
                name="measure",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.String(length=32), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_outcome_goals_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outcome_goals_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outcome_goals_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["users.id"], name=op.f("fk_outcome_goals_voided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_goals")),
    )
    with op.batch_alter_table("outcome_goals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_goals_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outcome_goals_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "outcome_measurements",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column(
            "instrument",
            sa.Enum(
                "ten_mwt",
                "six_mwt",
                "tug",
                "berg",
                "fac",
                "mrs",
                "tct",
                "motricity_leg",
                "wisci_ii",
                name="instrumentcode",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("with_exoskeleton", sa.Boolean(), nullable=False),
        sa.Column(
            "walking_aid",
            sa.Enum(
                "none",
                "cane",
                "quad_cane",
                "crutches",
                "walker",
                "rollator",
                "parallel_bars",
                "orthosis",
                "physical_assistance",
                name="walkingaid",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.String(length=32), nullable=True),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.String(length=32), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["org_units.id"],
            name=op.f("fk_outcome_measurements_clinic_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_outcome_measurements_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_outcome_measurements_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["users.id"], name=op.f("fk_outcome_measurements_voided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_measurements")),
    )
    with op.batch_alter_table("outcome_measurements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_measurements_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            "ix_outcome_measurements_patient_day", ["patient_id", "measured_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_measurements_patient_day")
        batch_op.drop_index(batch_op.f("ix_outcome_measurements_clinic_id"))

    op.drop_table("outcome_measurements")
    with op.batch_alter_table("outcome_goals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_goals_patient_id"))
        batch_op.drop_index(batch_op.f("ix_outcome_goals_clinic_id"))

    op.drop_table("outcome_goals")
