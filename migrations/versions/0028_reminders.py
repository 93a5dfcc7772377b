"""reminders: patients' reminder preferences, the delivery log, the local SMS outbox

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = sa.Enum("email", "sms", "none", name="reminderchannel", native_enum=False, length=10)


def upgrade() -> None:
    op.create_table(
        "reminder_preferences",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("channel", CHANNEL, nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.Column("lead_hours", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_reminder_preferences_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_reminder_preferences_updated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_preferences")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_reminder_preferences_patient_id")),
    )
    op.create_table(
        "reminder_deliveries",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "appointment", "home_programme", name="reminderkind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("occasion_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", CHANNEL, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "claimed",
                "retry",
                "sent",
                "failed",
                name="deliverystatus",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_reminder_deliveries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_deliveries")),
        sa.UniqueConstraint(
            "patient_id",
            "kind",
            "target_id",
            "occasion_at",
            name=op.f("uq_reminder_deliveries_patient_id"),
        ),
    )
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminder_deliveries_status", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reminder_deliveries_patient_id"), ["patient_id"], unique=False
        )
    op.create_table(
        "sms_outbox",
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("to_e164", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_sms_outbox_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_outbox_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_outbox_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("sms_outbox")
    op.drop_table("reminder_deliveries")
    op.drop_table("reminder_preferences")
