"""fleet and scheduling: approvals, custody, leases, maintenance, usage, invoices, waitlist

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exact decimals: NUMERIC on PostgreSQL, text on SQLite (which would otherwise store floats).
MONEY = sa.Numeric(18, 4).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recognition_agreements",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("approval", "trial_data", name="recognitionkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_agreements")),
        sa.UniqueConstraint("name", name=op.f("uq_recognition_agreements_name")),
    )
    op.create_table(
        "clinic_opening_hours",
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("opens < closes", name=op.f("ck_clinic_opening_hours_order")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_clinic_opening_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["org_units.id"],
            name=op.f("fk_clinic_opening_hours_clinic_id_org_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_opening_hours")),
        sa.UniqueConstraint("clinic_id", "weekday", name=op.f("uq_clinic_opening_hours_clinic_id")),
    )
    op.create_table(
        "price_plans",
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "per_patient_treated",
                "monthly_fixed",
                name="plankind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_price_plans_clinic_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_plans")),
    )
    with op.batch_alter_table("price_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_plans_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "device_approvals",
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "approved",
                "pending",
                "refused",
                "withdrawn",
                name="approvalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("status_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("indications", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["device_models.id"],
            name=op.f("fk_device_approvals_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_device_approvals_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_approvals")),
        sa.UniqueConstraint("model_id", "jurisdiction", name=op.f("uq_device_approvals_model_id")),
    )
    with op.batch_alter_table("device_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_approvals_model_id"), ["model_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("invoice", "credit_note", name="invoicekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("draft", "issued", name="invoicestatus", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("credited_invoice_id", sa.String(length=32), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_invoices_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoices_credited_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_invoices_issued_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_clinic_period", ["clinic_id", "period_start"], unique=False
        )

    op.create_table(
        "schedule_runs",
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon_start", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("travel_limit_km", sa.Float(), nullable=False),
        sa.Column("patients_waiting", sa.Integer(), nullable=False),
        sa.Column("patients_scheduled", sa.Integer(), nullable=False),
        sa.Column("sessions_booked", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("gap_pct", sa.Float(), nullable=True),
        sa.Column("wall_time_s", sa.Float(), nullable=True),
        sa.Column("triggered_by_id", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["triggered_by_id"], ["users.id"], name=op.f("fk_schedule_runs_triggered_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
    )
    op.create_table(
        "therapist_certifications",
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("certified_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["device_models.id"],
            name=op.f("fk_therapist_certifications_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["users.id"],
            name=op.f("fk_therapist_certifications_therapist_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapist_certifications")),
        sa.UniqueConstraint(
            "therapist_id", "model_id", name=op.f("uq_therapist_certifications_therapist_id")
        ),
    )
    op.create_table(
        "therapist_working_hours",
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("starts < ends", name=op.f("ck_therapist_working_hours_order")),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_therapist_working_hours_weekday")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["org_units.id"],
            name=op.f("fk_therapist_working_hours_clinic_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["users.id"],
            name=op.f("fk_therapist_working_hours_therapist_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapist_working_hours")),
        sa.UniqueConstraint(
            "therapist_id",
            "clinic_id",
            "weekday",
            name=op.f("uq_therapist_working_hours_therapist_id"),
        ),
    )
    op.create_table(
        "leases",
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("monthly_fee", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("renewed_from_id", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "returned_on IS NULL OR returned_on >= starts_on", name=op.f("ck_leases_returned")
        ),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_leases_period")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_leases_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_leases_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["renewed_from_id"], ["leases.id"], name=op.f("fk_leases_renewed_from_id_leases")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["device_units.id"], name=op.f("fk_leases_unit_id_device_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
    )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leases_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(
            "ix_leases_unit_period", ["unit_id", "starts_on", "ends_on"], unique=False
        )

    op.create_table(
        "maintenance_records",
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "preventive_maintenance",
                "repair",
                "calibration",
                "safety_inspection",
                "software_update",
                name="maintenancekind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("performed_by", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_maintenance_records_period")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_maintenance_records_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["device_units.id"],
            name=op.f("fk_maintenance_records_unit_id_device_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_records")),
    )
    with op.batch_alter_table("maintenance_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_records_unit_period", ["unit_id", "starts_at"], unique=False
        )

    op.create_table(
        "usage_events",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("session_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_usage_events_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_usage_events_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["device_units.id"], name=op.f("fk_usage_events_unit_id_device_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_usage_events_transaction_id")),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_clinic_start", ["clinic_id", "session_start"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_usage_events_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_usage_events_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("referral_date", sa.Date(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum("urgent", "high", "routine", name="priority", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("priority_reason", sa.String(length=300), nullable=False),
        sa.Column("sessions_per_week", sa.Integer(), nullable=False),
        sa.Column("course_sessions", sa.Integer(), nullable=False),
        sa.Column("home_latitude", sa.Float(), nullable=False),
        sa.Column("home_longitude", sa.Float(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "scheduled",
                "withdrawn",
                "completed",
                name="waitliststatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("unscheduled_reasons", sa.JSON(), nullable=True),
        sa.Column("first_session_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "course_sessions >= 1", name=op.f("ck_waitlist_entries_course_sessions")
        ),
        sa.CheckConstraint(
            "sessions_per_week BETWEEN 1 AND 7", name=op.f("ck_waitlist_entries_sessions_per_week")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_waitlist_entries_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_waitlist_entries_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_entries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_entries_clinic_status", ["clinic_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "booked_sessions",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waitlist_entry_id", sa.String(length=32), nullable=True),
        sa.Column("schedule_run_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_booked_sessions_order")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_booked_sessions_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_booked_sessions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_run_id"],
            ["schedule_runs.id"],
            name=op.f("fk_booked_sessions_schedule_run_id_schedule_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_booked_sessions_therapist_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["device_units.id"], name=op.f("fk_booked_sessions_unit_id_device_units")
        ),
        sa.ForeignKeyConstraint(
            ["waitlist_entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_booked_sessions_waitlist_entry_id_waitlist_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booked_sessions")),
        sa.UniqueConstraint("patient_id", "starts_at", name=op.f("uq_booked_sessions_patient_id")),
        sa.UniqueConstraint(
            "therapist_id", "starts_at", name=op.f("uq_booked_sessions_therapist_id")
        ),
        sa.UniqueConstraint("unit_id", "starts_at", name=op.f("uq_booked_sessions_unit_id")),
    )
    with op.batch_alter_table("booked_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booked_sessions_clinic_start", ["clinic_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_booked_sessions_waitlist_entry_id"), ["waitlist_entry_id"], unique=False
        )

    op.create_table(
        "custody_movements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("out", "in_", name="custodydirection", native_enum=False, length=5),
            nullable=False,
        ),
        sa.Column("org_unit_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transfer_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("lease_id", sa.String(length=32), nullable=True),
        sa.Column("recorded_by_id", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_custody_movements_lease_id_leases")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_custody_movements_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_custody_movements_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["device_units.id"], name=op.f("fk_custody_movements_unit_id_device_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_movements")),
    )
    with op.batch_alter_table("custody_movements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_movements_transfer_id"), ["transfer_id"], unique=False
        )
        batch_op.create_index("ix_custody_movements_unit_at", ["unit_id", "at"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "lease",
                "per_patient",
                "monthly_fixed",
                "credit",
                name="linekind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("lease_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_invoice_lines_lease_id_leases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    _constraints_and_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("custody_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_movements_unit_at")
        batch_op.drop_index(batch_op.f("ix_custody_movements_transfer_id"))

    op.drop_table("custody_movements")
    with op.batch_alter_table("booked_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booked_sessions_waitlist_entry_id"))
        batch_op.drop_index("ix_booked_sessions_clinic_start")

    op.drop_table("booked_sessions")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_patient_id"))
        batch_op.drop_index("ix_waitlist_entries_clinic_status")

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_events_unit_id"))
        batch_op.drop_index(batch_op.f("ix_usage_events_patient_id"))
        batch_op.drop_index("ix_usage_events_clinic_start")

    op.drop_table("usage_events")
    with op.batch_alter_table("maintenance_records", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_records_unit_period")

    op.drop_table("maintenance_records")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_index("ix_leases_unit_period")
        batch_op.drop_index(batch_op.f("ix_leases_clinic_id"))

    op.drop_table("leases")
    op.drop_table("therapist_working_hours")
    op.drop_table("therapist_certifications")
    op.drop_table("schedule_runs")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_clinic_period")

    op.drop_table("invoices")
    with op.batch_alter_table("device_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_approvals_model_id"))

    op.drop_table("device_approvals")
    with op.batch_alter_table("price_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_plans_clinic_id"))

    op.drop_table("price_plans")
    op.drop_table("clinic_opening_hours")
    op.drop_table("recognition_agreements")


# Database-level guards behind the service rules: a lease may not overlap another of its unit,
# custody movements are append-only, and an issued invoice (and its lines) never changes.
_SQLITE_TRIGGERS = {
    "leases_no_overlap_insert": """
        CREATE TRIGGER leases_no_overlap_insert BEFORE INSERT ON leases
        WHEN EXISTS (
            SELECT 1 FROM leases AS l WHERE l.unit_id = NEW.unit_id
            AND l.starts_on <= COALESCE(NEW.returned_on, NEW.ends_on)
            AND NEW.starts_on <= COALESCE(l.returned_on, l.ends_on))
        BEGIN SELECT RAISE(ABORT, 'lease overlaps another lease of the same unit'); END
    """,
    "leases_no_overlap_update": """
        CREATE TRIGGER leases_no_overlap_update BEFORE UPDATE ON leases
        WHEN EXISTS (
            SELECT 1 FROM leases AS l WHERE l.unit_id = NEW.unit_id AND l.id != NEW.id
            AND l.starts_on <= COALESCE(NEW.returned_on, NEW.ends_on)
            AND NEW.starts_on <= COALESCE(l.returned_on, l.ends_on))
        BEGIN SELECT RAISE(ABORT, 'lease overlaps another lease of the same unit'); END
    """,
    "custody_movements_no_update": """
        CREATE TRIGGER custody_movements_no_update BEFORE UPDATE ON custody_movements
        BEGIN SELECT RAISE(ABORT, 'custody_movements is append-only'); END
    """,
    "custody_movements_no_delete": """
        CREATE TRIGGER custody_movements_no_delete BEFORE DELETE ON custody_movements
        BEGIN SELECT RAISE(ABORT, 'custody_movements is append-only'); END
    """,
    "invoices_no_update_after_issue": """
        CREATE TRIGGER invoices_no_update_after_issue BEFORE UPDATE ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot change'); END
    """,
    "invoices_no_delete_after_issue": """
        CREATE TRIGGER invoices_no_delete_after_issue BEFORE DELETE ON invoices
        WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot change'); END
    """,
    "invoice_lines_no_insert_after_issue": """
        CREATE TRIGGER invoice_lines_no_insert_after_issue BEFORE INSERT ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot change'); END
    """,
    "invoice_lines_no_update_after_issue": """
        CREATE TRIGGER invoice_lines_no_update_after_issue BEFORE UPDATE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot change'); END
    """,
    "invoice_lines_no_delete_after_issue": """
        CREATE TRIGGER invoice_lines_no_delete_after_issue BEFORE DELETE ON invoice_lines
        WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued invoice cannot change'); END
    """,
}

_POSTGRES_SETUP = [
    # btree_gist lets one exclusion constraint combine equality on unit_id with range overlap.
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE leases ADD CONSTRAINT ex_leases_no_overlap EXCLUDE USING gist (
        unit_id WITH =,
        daterange(starts_on, COALESCE(returned_on, ends_on), '[]') WITH &&
    )
    """,
    """
    CREATE FUNCTION custody_movements_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'custody_movements is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER custody_movements_no_change BEFORE UPDATE OR DELETE ON custody_movements "
    "FOR EACH ROW EXECUTE FUNCTION custody_movements_append_only()",
    """
    CREATE FUNCTION invoices_frozen_after_issue() RETURNS trigger AS $$
    BEGIN
        IF OLD.status = 'issued' THEN
            RAISE EXCEPTION 'invoice % is issued and cannot change', OLD.number;
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER invoices_no_change_after_issue BEFORE UPDATE OR DELETE ON invoices "
    "FOR EACH ROW EXECUTE FUNCTION invoices_frozen_after_issue()",
    """
    CREATE FUNCTION invoice_lines_frozen_after_issue() RETURNS trigger AS $$
    DECLARE
        target varchar;
    BEGIN
        IF TG_OP = 'DELETE' THEN target := OLD.invoice_id; ELSE target := NEW.invoice_id; END IF;
        IF EXISTS (SELECT 1 FROM invoices WHERE id = target AND status = 'issued')
           OR (TG_OP = 'UPDATE' AND EXISTS (
               SELECT 1 FROM invoices WHERE id = OLD.invoice_id AND status = 'issued')) THEN
            RAISE EXCEPTION 'invoice % is issued and cannot change', target;
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER invoice_lines_no_change_after_issue "
    "BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines "
    "FOR EACH ROW EXECUTE FUNCTION invoice_lines_frozen_after_issue()",
]

_POSTGRES_TEARDOWN = [
    "DROP TRIGGER IF EXISTS invoice_lines_no_change_after_issue ON invoice_lines",
    "DROP FUNCTION IF EXISTS invoice_lines_frozen_after_issue()",
    "DROP TRIGGER IF EXISTS invoices_no_change_after_issue ON invoices",
    "DROP FUNCTION IF EXISTS invoices_frozen_after_issue()",
    "DROP TRIGGER IF EXISTS custody_movements_no_change ON custody_movements",
    "DROP FUNCTION IF EXISTS custody_movements_append_only()",
    "ALTER TABLE leases DROP CONSTRAINT IF EXISTS ex_leases_no_overlap",
]


def _constraints_and_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_SETUP:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS.values():
            op.execute(statement)


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_TEARDOWN:
            op.execute(statement)
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
