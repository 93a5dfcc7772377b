"""careplan: plans, notes, exercises, home programmes, adherence

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-05 18:19:09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "gait",
                "balance",
                "strength",
                "mobility",
                name="exercisecategory",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("default_language", sa.String(length=12), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_exercises_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["org_units.id"], name=op.f("fk_exercises_owner_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
        sa.UniqueConstraint("code", name=op.f("uq_exercises_code")),
    )
    op.create_table(
        "care_plans",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_care_plans_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_care_plans_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_plans_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
    )
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_plans_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_plans_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "exercise_media",
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_exercise_media_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"], ["exercises.id"], name=op.f("fk_exercise_media_exercise_id_exercises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_media")),
    )
    with op.batch_alter_table("exercise_media", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_media_exercise_id"), ["exercise_id"], unique=False
        )

    op.create_table(
        "exercise_texts",
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"], ["exercises.id"], name=op.f("fk_exercise_texts_exercise_id_exercises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_texts")),
        sa.UniqueConstraint("exercise_id", "language", name=op.f("uq_exercise_texts_exercise_id")),
    )
    with op.batch_alter_table("exercise_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exercise_texts_exercise_id"), ["exercise_id"], unique=False
        )

    op.create_table(
        "home_programmes",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("assigned_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_home_programmes_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_home_programmes_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_home_programmes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_programmes")),
    )
    with op.batch_alter_table("home_programmes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_home_programmes_clinic_id"), ["clinic_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_home_programmes_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "care_plan_versions",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sessions_per_week", sa.Integer(), nullable=False),
        sa.Column("minutes_per_session", sa.Integer(), nullable=False),
        sa.Column("device_model_id", sa.String(length=32), nullable=False),
        sa.Column("device_unit_id", sa.String(length=32), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("progression", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_care_plan_versions_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["device_model_id"],
            ["device_models.id"],
            name=op.f("fk_care_plan_versions_device_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["device_unit_id"],
            ["device_units.id"],
            name=op.f("fk_care_plan_versions_device_unit_id_device_units"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["care_plans.id"], name=op.f("fk_care_plan_versions_plan_id_care_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_versions")),
        sa.UniqueConstraint("plan_id", "version", name=op.f("uq_care_plan_versions_plan_id")),
    )
    with op.batch_alter_table("care_plan_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plan_versions_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "home_programme_items",
        sa.Column("programme_id", sa.String(length=32), nullable=False),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sets", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("days_per_week", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_home_programme_items_exercise_id_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["home_programmes.id"],
            name=op.f("fk_home_programme_items_programme_id_home_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_programme_items")),
    )
    with op.batch_alter_table("home_programme_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_home_programme_items_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "adherence_logs",
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "done", "partly", "not_done", name="adherencestatus", native_enum=False, length=10
            ),
            nullable=False,
        ),
        sa.Column("pain_0_10", sa.Integer(), nullable=False),
        sa.Column(
            "difficulty",
            sa.Enum("easy", "right", "hard", name="difficulty", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("logged_by_id", sa.String(length=32), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["home_programme_items.id"],
            name=op.f("fk_adherence_logs_item_id_home_programme_items"),
        ),
        sa.ForeignKeyConstraint(
            ["logged_by_id"], ["users.id"], name=op.f("fk_adherence_logs_logged_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adherence_logs_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adherence_logs")),
    )
    with op.batch_alter_table("adherence_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adherence_logs_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_adherence_logs_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "soap_notes",
        sa.Column("therapy_session_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum("draft", "signed", name="notestatus", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_soap_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["org_units.id"], name=op.f("fk_soap_notes_clinic_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_soap_notes_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_soap_notes_signed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["therapy_session_id"],
            ["therapy_sessions.id"],
            name=op.f("fk_soap_notes_therapy_session_id_therapy_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soap_notes")),
        sa.UniqueConstraint("therapy_session_id", name=op.f("uq_soap_notes_therapy_session_id")),
    )
    with op.batch_alter_table("soap_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_soap_notes_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_soap_notes_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "soap_note_amendments",
        sa.Column("note_id", sa.String(length=32), nullable=False),
        sa.Column(
            "section",
            sa.Enum(
                "subjective",
                "objective",
                "assessment",
                "plan",
                name="notesection",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_soap_note_amendments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["note_id"], ["soap_notes.id"], name=op.f("fk_soap_note_amendments_note_id_soap_notes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soap_note_amendments")),
    )
    with op.batch_alter_table("soap_note_amendments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_soap_note_amendments_note_id"), ["note_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("soap_note_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_soap_note_amendments_note_id"))

    op.drop_table("soap_note_amendments")
    with op.batch_alter_table("soap_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_soap_notes_patient_id"))
        batch_op.drop_index(batch_op.f("ix_soap_notes_clinic_id"))

    op.drop_table("soap_notes")
    with op.batch_alter_table("adherence_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adherence_logs_patient_id"))
        batch_op.drop_index(batch_op.f("ix_adherence_logs_item_id"))

    op.drop_table("adherence_logs")
    with op.batch_alter_table("home_programme_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_home_programme_items_programme_id"))

    op.drop_table("home_programme_items")
    with op.batch_alter_table("care_plan_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_versions_plan_id"))

    op.drop_table("care_plan_versions")
    with op.batch_alter_table("home_programmes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_home_programmes_patient_id"))
        batch_op.drop_index(batch_op.f("ix_home_programmes_clinic_id"))

    op.drop_table("home_programmes")
    with op.batch_alter_table("exercise_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_texts_exercise_id"))

    op.drop_table("exercise_texts")
    with op.batch_alter_table("exercise_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exercise_media_exercise_id"))

    op.drop_table("exercise_media")
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plans_patient_id"))
        batch_op.drop_index(batch_op.f("ix_care_plans_clinic_id"))

    op.drop_table("care_plans")
    op.drop_table("exercises")
