"""telerehab: assist-as-needed advice decisions, and a planned session's starting settings

Revision ID: 0022
Revises: 0010
Create Date: 2026-12-05 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | tuple[str, ...] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_settings", sa.JSON(), nullable=True))
    op.create_table(
        "assistance_advice",
        sa.Column("therapy_session_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("device_model_id", sa.String(length=32), nullable=False),
        sa.Column("recommended", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column(
            "decision",
            sa.Enum(
                "accepted",
                "edited",
                "declined",
                name="advicedecision",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("decided_values", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_to_session_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["applied_to_session_id"],
            ["therapy_sessions.id"],
            name=op.f("fk_assistance_advice_applied_to_session_id_therapy_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_assistance_advice_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["device_model_id"],
            ["device_models.id"],
            name=op.f("fk_assistance_advice_device_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_assistance_advice_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["therapy_session_id"],
            ["therapy_sessions.id"],
            name=op.f("fk_assistance_advice_therapy_session_id_therapy_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistance_advice")),
        sa.UniqueConstraint(
            "therapy_session_id", name=op.f("uq_assistance_advice_therapy_session_id")
        ),
    )
    with op.batch_alter_table("assistance_advice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assistance_advice_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assistance_advice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistance_advice_patient_id"))
    op.drop_table("assistance_advice")
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.drop_column("planned_settings")
