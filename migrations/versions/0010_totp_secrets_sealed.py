"""accounts: TOTP secrets sealed at rest with a key derived from EXOSHARE_SECRET_KEY;
invitations can be withdrawn

Merges the heads 0005 (accounts) and 0007 (device broker password hash).

The key comes from the Alembic attribute ``secret_key`` when a caller passes one, otherwise
from the settings (EXOSHARE_SECRET_KEY, or the key file in the data directory), so the
migration seals with the same key the server opens with.

Revision ID: 0010
Revises: 0005, 0007
Create Date: 2026-12-05 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from exoshare.auth.secret_box import SecretBox, split_keys

revision: str = "0010"
down_revision: str | tuple[str, ...] | None = ("0005", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

enrolments = sa.table(
    "totp_enrolments", sa.column("user_id", sa.String), sa.column("secret", sa.String)
)


def _box() -> SecretBox:
    key = context.config.attributes.get("secret_key")
    if key:
        return SecretBox(key, split_keys(context.config.attributes.get("previous_secret_keys")))
    from exoshare.auth.secret_box import totp_box
    from exoshare.config import get_settings

    return totp_box(get_settings())


def _rewrite(transform: object) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(enrolments.c.user_id, enrolments.c.secret)).all()
    for user_id, secret in rows:
        connection.execute(
            enrolments.update()
            .where(enrolments.c.user_id == user_id)
            .values(secret=transform(secret))  # type: ignore[operator]
        )


def upgrade() -> None:
    with op.batch_alter_table("totp_enrolments") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    box = _box()
    _rewrite(box.seal)
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("withdrawn_at")
    box = _box()
    _rewrite(box.open)
    with op.batch_alter_table("totp_enrolments") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
