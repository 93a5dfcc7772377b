"""network and scheduling: a clinic's address and phone; a booking links to its therapy session

Revision ID: 0032
Revises: 0029
Create Date: 2026-12-06 00:45:00

Patients read where to go and whom to call on their appointments page and in reminders, so a
clinic keeps two address lines, a postcode and a phone number (E.164). A booking started as a
tele-rehabilitation session points at that session, so each page links to the other.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FK = "fk_booked_sessions_therapy_session_id_therapy_sessions"
UNIQUE = "uq_booked_sessions_therapy_session_id"


def upgrade() -> None:
    with op.batch_alter_table("org_units") as batch:
        batch.add_column(sa.Column("address_line1", sa.String(200), nullable=True))
        batch.add_column(sa.Column("address_line2", sa.String(200), nullable=True))
        batch.add_column(sa.Column("postcode", sa.String(20), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(20), nullable=True))
    with op.batch_alter_table("booked_sessions") as batch:
        batch.add_column(sa.Column("therapy_session_id", sa.String(32), nullable=True))
        batch.create_foreign_key(
            FK,
            "therapy_sessions",
            ["therapy_session_id"],
            ["id"],
        )
        batch.create_unique_constraint(UNIQUE, ["therapy_session_id"])


def downgrade() -> None:
    with op.batch_alter_table("booked_sessions") as batch:
        batch.drop_constraint(UNIQUE, type_="unique")
        batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("therapy_session_id")
    with op.batch_alter_table("org_units") as batch:
        batch.drop_column("phone")
        batch.drop_column("postcode")
        batch.drop_column("address_line2")
        batch.drop_column("address_line1")
