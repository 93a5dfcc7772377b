"""scheduling: bookings are cancelled or rescheduled (kept, with who, when and why), and held

Revision ID: 0027
Revises: 0030
Create Date: 2026-12-05 21:40:00

A cancelled booking keeps its row but must free its slot, so the three unique constraints on
(unit | therapist | patient, starts_at) become unique indexes over active bookings only.
Bookings a therapy session has already started on are marked held (``held_at``).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status = 'booked'"
COLUMNS = ("unit_id", "therapist_id", "patient_id")

booked_sessions = sa.table(
    "booked_sessions",
    sa.column("id", sa.String),
    sa.column("patient_id", sa.String),
    sa.column("unit_id", sa.String),
    sa.column("starts_at", sa.DateTime(timezone=True)),
    sa.column("held_at", sa.DateTime(timezone=True)),
)
therapy_sessions = sa.table(
    "therapy_sessions",
    sa.column("patient_id", sa.String),
    sa.column("device_unit_id", sa.String),
    sa.column("started_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("booked_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "booked",
                    "cancelled",
                    "rescheduled",
                    name="bookingstatus",
                    native_enum=False,
                    length=12,
                ),
                nullable=False,
                server_default="booked",
            )
        )
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("rescheduled_to_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_booked_sessions_cancelled_by_id_users"),
            "users",
            ["cancelled_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_booked_sessions_rescheduled_to_id_booked_sessions"),
            "booked_sessions",
            ["rescheduled_to_id"],
            ["id"],
        )
        for column in COLUMNS:
            batch_op.drop_constraint(f"uq_booked_sessions_{column}", type_="unique")
    for column in COLUMNS:
        op.create_index(
            f"uq_booked_sessions_{column}_active",
            "booked_sessions",
            [column, "starts_at"],
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )
    _mark_held()


def _mark_held() -> None:
    """A booking whose patient started a session on its unit within the hour around it was held
    (the window tele-rehabilitation uses to tie a session to its booking)."""
    bind = op.get_bind()
    started: dict[tuple[str, str], list[datetime]] = {}
    for patient_id, unit_id, at in bind.execute(
        sa.select(
            therapy_sessions.c.patient_id,
            therapy_sessions.c.device_unit_id,
            therapy_sessions.c.started_at,
        ).where(therapy_sessions.c.started_at.is_not(None))
    ):
        started.setdefault((patient_id, unit_id), []).append(_aware(at))
    if not started:
        return
    for booking_id, patient_id, unit_id, starts_at in bind.execute(
        sa.select(
            booked_sessions.c.id,
            booked_sessions.c.patient_id,
            booked_sessions.c.unit_id,
            booked_sessions.c.starts_at,
        )
    ):
        begins = _aware(starts_at)
        near = [
            at
            for at in started.get((patient_id, unit_id), [])
            if abs(at - begins) < timedelta(hours=1)
        ]
        if near:
            bind.execute(
                booked_sessions.update()
                .where(booked_sessions.c.id == booking_id)
                .values(held_at=min(near))
            )


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; exoshare stores them in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def downgrade() -> None:
    kept = op.get_bind().scalar(
        sa.text(f"SELECT count(*) FROM booked_sessions WHERE NOT ({ACTIVE})")
    )
    if kept:
        # The old schema has no place for them, and a booking is patient data: never dropped.
        raise RuntimeError(
            f"{kept} cancelled or rescheduled bookings would be lost; this revision cannot be "
            "undone on a database that holds them"
        )
    for column in COLUMNS:
        op.drop_index(f"uq_booked_sessions_{column}_active", table_name="booked_sessions")
    with op.batch_alter_table("booked_sessions", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_booked_sessions_{column}"), [column, "starts_at"]
            )
        batch_op.drop_constraint(
            batch_op.f("fk_booked_sessions_rescheduled_to_id_booked_sessions"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_booked_sessions_cancelled_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("rescheduled_to_id")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_by_id")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("held_at")
        batch_op.drop_column("status")
