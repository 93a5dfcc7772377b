"""scheduling: a referral's session length in slots and its preferred clinic and therapist

Revision ID: 0031
Revises: 0032
Create Date: 2026-12-06 00:50:00.000000

Every entry so far asked for one-slot sessions and named no preference, so the new columns
start at 1 and empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | tuple[str, ...] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_slots", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.add_column(sa.Column("preferred_clinic_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("preferred_therapist_id", sa.String(length=32), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_waitlist_entries_session_slots"), "session_slots BETWEEN 1 AND 4"
        )
        batch_op.create_foreign_key(
            op.f("fk_waitlist_entries_preferred_clinic_id_org_units"),
            "org_units",
            ["preferred_clinic_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            op.f("fk_waitlist_entries_preferred_therapist_id_users"),
            "users",
            ["preferred_therapist_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_waitlist_entries_preferred_therapist_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            op.f("fk_waitlist_entries_preferred_clinic_id_org_units"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("ck_waitlist_entries_session_slots"), type_="check")
        batch_op.drop_column("preferred_therapist_id")
        batch_op.drop_column("preferred_clinic_id")
        batch_op.drop_column("session_slots")
