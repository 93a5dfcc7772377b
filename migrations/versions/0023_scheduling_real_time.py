"""scheduling: therapists' breaks, daily limits and leave; patients' available hours

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-05 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | tuple[str, ...] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "therapist_leave",
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_therapist_leave_order")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_therapist_leave_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_therapist_leave_therapist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapist_leave")),
    )
    op.create_index(
        "ix_therapist_leave_therapist_days",
        "therapist_leave",
        ["therapist_id", "first_day"],
        unique=False,
    )
    with op.batch_alter_table("therapist_working_hours") as batch:
        batch.add_column(sa.Column("break_starts", sa.Time(), nullable=True))
        batch.add_column(sa.Column("break_ends", sa.Time(), nullable=True))
        batch.add_column(sa.Column("max_sessions", sa.Integer(), nullable=True))
    with op.batch_alter_table("waitlist_entries") as batch:
        batch.add_column(sa.Column("available_hours", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waitlist_entries") as batch:
        batch.drop_column("available_hours")
    with op.batch_alter_table("therapist_working_hours") as batch:
        batch.drop_column("max_sessions")
        batch.drop_column("break_ends")
        batch.drop_column("break_starts")
    op.drop_index("ix_therapist_leave_therapist_days", table_name="therapist_leave")
    op.drop_table("therapist_leave")
