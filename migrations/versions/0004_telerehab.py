"""telerehab: therapy sessions, setting changes and safety alerts (merges 0002 and 0003)

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-27 13:59:46.549866
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: tuple[str, ...] = ("0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "therapy_sessions",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("device_unit_id", sa.String(length=32), nullable=False),
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column(
            "location",
            sa.Enum("clinic", "home", name="therapylocation", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "started",
                "live",
                "paused",
                "completed",
                "aborted",
                name="therapystatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("planned_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("live_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("telemetry_session_id", sa.String(length=32), nullable=True),
        sa.Column("settings_at_start", sa.JSON(), nullable=True),
        sa.Column("current_settings", sa.JSON(), nullable=False),
        sa.Column("alert_rules", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_therapy_sessions_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["device_unit_id"],
            ["device_units.id"],
            name=op.f("fk_therapy_sessions_device_unit_id_device_units"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_therapy_sessions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["telemetry_session_id"],
            ["telemetry_sessions.id"],
            name=op.f("fk_therapy_sessions_telemetry_session_id_telemetry_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_therapy_sessions_therapist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_sessions")),
        sa.UniqueConstraint(
            "telemetry_session_id", name=op.f("uq_therapy_sessions_telemetry_session_id")
        ),
    )
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_therapy_sessions_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_therapy_sessions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_therapy_sessions_therapist_id"), ["therapist_id"], unique=False
        )
        batch_op.create_index(
            "ix_therapy_sessions_unit_status", ["device_unit_id", "status"], unique=False
        )

    op.create_table(
        "therapy_alerts",
        sa.Column("therapy_session_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column("at_s", sa.Float(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_therapy_alerts_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_session_id"],
            ["therapy_sessions.id"],
            name=op.f("fk_therapy_alerts_therapy_session_id_therapy_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_alerts")),
    )
    with op.batch_alter_table("therapy_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_therapy_alerts_therapy_session_id"), ["therapy_session_id"], unique=False
        )

    op.create_table(
        "therapy_setting_changes",
        sa.Column("therapy_session_id", sa.String(length=32), nullable=False),
        sa.Column("setting", sa.String(length=60), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("previous_value", sa.Float(), nullable=True),
        sa.Column("proposed_value", sa.Float(), nullable=False),
        sa.Column("proposed_by_id", sa.String(length=32), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check_result", sa.String(length=40), nullable=False),
        sa.Column("check_detail", sa.Text(), nullable=True),
        sa.Column("command_id", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "refused",
                "sent",
                "applied",
                "rejected",
                "timed_out",
                name="changestatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_ack", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_therapy_setting_changes_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_session_id"],
            ["therapy_sessions.id"],
            name=op.f("fk_therapy_setting_changes_therapy_session_id_therapy_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy_setting_changes")),
        sa.UniqueConstraint("command_id", name=op.f("uq_therapy_setting_changes_command_id")),
    )
    with op.batch_alter_table("therapy_setting_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_therapy_setting_changes_therapy_session_id"),
            ["therapy_session_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("therapy_setting_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_therapy_setting_changes_therapy_session_id"))

    op.drop_table("therapy_setting_changes")
    with op.batch_alter_table("therapy_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_therapy_alerts_therapy_session_id"))

    op.drop_table("therapy_alerts")
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_therapy_sessions_unit_status")
        batch_op.drop_index(batch_op.f("ix_therapy_sessions_therapist_id"))
        batch_op.drop_index(batch_op.f("ix_therapy_sessions_patient_id"))
        batch_op.drop_index(batch_op.f("ix_therapy_sessions_clinic_id"))

    op.drop_table("therapy_sessions")
