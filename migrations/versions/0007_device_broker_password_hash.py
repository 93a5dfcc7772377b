"""device credentials: the Mosquitto password-file hash of each new secret

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | tuple[str, ...] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telemetry_device_credentials") as batch:
        batch.add_column(sa.Column("broker_password_hash", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telemetry_device_credentials") as batch:
        batch.drop_column("broker_password_hash")
