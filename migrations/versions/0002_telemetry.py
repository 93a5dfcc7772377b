"""telemetry: device credentials, session index, batch index, device events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 13:45:47.231171
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telemetry_device_credentials",
        sa.Column("device_unit_id", sa.String(length=32), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("issued_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_unit_id"],
            ["device_units.id"],
            name=op.f("fk_telemetry_device_credentials_device_unit_id_device_units"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["users.id"],
            name=op.f("fk_telemetry_device_credentials_issued_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_device_credentials")),
        sa.UniqueConstraint(
            "secret_sha256", name=op.f("uq_telemetry_device_credentials_secret_sha256")
        ),
    )
    with op.batch_alter_table("telemetry_device_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telemetry_device_credentials_device_unit_id"),
            ["device_unit_id"],
            unique=False,
        )

    op.create_table(
        "telemetry_sessions",
        sa.Column("device_unit_id", sa.String(length=32), nullable=False),
        sa.Column("device_session_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_file", sa.String(length=300), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time_s", sa.Float(), nullable=False),
        sa.Column("sampling_rate_hz", sa.Float(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "recording", "ending", "ended", name="sessionstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_batches", sa.Integer(), nullable=True),
        sa.Column("n_batches", sa.Integer(), nullable=False),
        sa.Column("n_samples", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("analysis_error", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("step_count", sa.Integer(), nullable=True),
        sa.Column("cadence_steps_per_min", sa.Float(), nullable=True),
        sa.Column("stride_time_s", sa.Float(), nullable=True),
        sa.Column("step_time_symmetry_index_pct", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_unit_id"],
            ["device_units.id"],
            name=op.f("fk_telemetry_sessions_device_unit_id_device_units"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_telemetry_sessions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_sessions")),
        sa.UniqueConstraint(
            "device_unit_id", "device_session_id", name=op.f("uq_telemetry_sessions_device_unit_id")
        ),
    )
    with op.batch_alter_table("telemetry_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telemetry_sessions_device_unit_id"), ["device_unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_telemetry_sessions_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "telemetry_batches",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("device_unit_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("first_sample_time_s", sa.Float(), nullable=False),
        sa.Column("last_sample_time_s", sa.Float(), nullable=False),
        sa.Column("file", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_unit_id"],
            ["device_units.id"],
            name=op.f("fk_telemetry_batches_device_unit_id_device_units"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["telemetry_sessions.id"],
            name=op.f("fk_telemetry_batches_session_id_telemetry_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_batches")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_telemetry_batches_session_id")),
    )
    with op.batch_alter_table("telemetry_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telemetry_batches_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "telemetry_events",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["telemetry_sessions.id"],
            name=op.f("fk_telemetry_events_session_id_telemetry_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_events")),
        sa.UniqueConstraint("session_id", "event_id", name=op.f("uq_telemetry_events_session_id")),
    )
    with op.batch_alter_table("telemetry_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telemetry_events_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("telemetry_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_events_session_id"))

    op.drop_table("telemetry_events")
    with op.batch_alter_table("telemetry_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_batches_session_id"))

    op.drop_table("telemetry_batches")
    with op.batch_alter_table("telemetry_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_sessions_patient_id"))
        batch_op.drop_index(batch_op.f("ix_telemetry_sessions_device_unit_id"))

    op.drop_table("telemetry_sessions")
    with op.batch_alter_table("telemetry_device_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_device_credentials_device_unit_id"))

    op.drop_table("telemetry_device_credentials")
