"""partners: what each offers and needs, its countries, languages and place; agreements
between partners and the tele-supervision cover they grant

Existing partners get empty lists (server default), so no row is lost or left invalid.

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-05 18:18:47.091917
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_agreements",
        sa.Column(
            "kind",
            sa.Enum(
                "device_lease",
                "tele_supervision",
                "training",
                "data_sharing",
                name="agreementkind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "ended",
                "terminated",
                name="agreementstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_partner_agreements_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["partners.id"],
            name=op.f("fk_partner_agreements_provider_id_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["partners.id"],
            name=op.f("fk_partner_agreements_recipient_id_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agreements")),
    )
    with op.batch_alter_table("partner_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_agreements_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_agreements_recipient_id"), ["recipient_id"], unique=False
        )

    op.create_table(
        "partner_agreement_covers",
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["partner_agreements.id"],
            name=op.f("fk_partner_agreement_covers_agreement_id_partner_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["role_grants.id"],
            name=op.f("fk_partner_agreement_covers_grant_id_role_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_partner_agreement_covers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agreement_covers")),
    )
    with op.batch_alter_table("partner_agreement_covers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_agreement_covers_agreement_id"), ["agreement_id"], unique=False
        )

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("countries", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("offers", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("needs", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
        batch_op.drop_column("needs")
        batch_op.drop_column("offers")
        batch_op.drop_column("languages")
        batch_op.drop_column("countries")
        batch_op.drop_column("description")

    with op.batch_alter_table("partner_agreement_covers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_agreement_covers_agreement_id"))

    op.drop_table("partner_agreement_covers")
    with op.batch_alter_table("partner_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_agreements_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_partner_agreements_provider_id"))

    op.drop_table("partner_agreements")
