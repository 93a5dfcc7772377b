"""academy: courses, modules, lessons, media, quizzes, sign-offs; certificates move here

The scheduling table ``therapist_certifications`` becomes ``academy_certificates``: every row is
copied with its id, dates and timestamps (``certified_on`` is now ``issued_on``), marked
``recorded`` and given a random verification code, then the old table is dropped. Downgrading
copies each therapist's unrevoked certificate per model back.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 18:20:20.158923
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exoshare.db

old_certifications = sa.table(
    "therapist_certifications",
    sa.column("id", sa.String),
    sa.column("therapist_id", sa.String),
    sa.column("model_id", sa.String),
    sa.column("certified_on", sa.Date),
    sa.column("expires_on", sa.Date),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
certificates = sa.table(
    "academy_certificates",
    sa.column("id", sa.String),
    sa.column("therapist_id", sa.String),
    sa.column("model_id", sa.String),
    sa.column("issued_on", sa.Date),
    sa.column("expires_on", sa.Date),
    sa.column("verification_code", sa.String),
    sa.column("basis", sa.String),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "academy_courses",
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("org_unit_id", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("fallback_language", sa.String(length=12), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("pass_mark_pct", sa.Integer(), nullable=False),
        sa.Column("certificate_valid_days", sa.Integer(), nullable=False),
        sa.Column("practical_required", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "certificate_valid_days >= 1", name=op.f("ck_academy_courses_valid_days")
        ),
        sa.CheckConstraint(
            "pass_mark_pct BETWEEN 1 AND 100", name=op.f("ck_academy_courses_pass_mark")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_academy_courses_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["device_models.id"],
            name=op.f("fk_academy_courses_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_academy_courses_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_courses")),
    )
    with op.batch_alter_table("academy_courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_academy_courses_model_id"), ["model_id"], unique=False)

    op.create_table(
        "academy_certificates",
        sa.Column("therapist_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("verification_code", sa.String(length=32), nullable=False),
        sa.Column(
            "basis",
            sa.Enum(
                "course",
                "trainer",
                "recorded",
                name="certificatebasis",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("course_id", sa.String(length=32), nullable=True),
        sa.Column("issued_by_id", sa.String(length=32), nullable=True),
        sa.Column("renewed_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", exoshare.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.String(length=32), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("issued_on < expires_on", name=op.f("ck_academy_certificates_dates")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_certificates_course_id_academy_courses"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_academy_certificates_issued_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["device_models.id"],
            name=op.f("fk_academy_certificates_model_id_device_models"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["users.id"],
            name=op.f("fk_academy_certificates_revoked_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_academy_certificates_therapist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_certificates")),
        sa.UniqueConstraint(
            "verification_code", name=op.f("uq_academy_certificates_verification_code")
        ),
    )
    with op.batch_alter_table("academy_certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_academy_certificates_therapist_model", ["therapist_id", "model_id"], unique=False
        )

    op.create_table(
        "academy_modules",
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_modules_course_id_academy_courses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_modules")),
    )
    with op.batch_alter_table("academy_modules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_modules_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "academy_practical_signoffs",
        sa.Column("learner_id", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("trainer_id", sa.String(length=32), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_practical_signoffs_course_id_academy_courses"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["users.id"],
            name=op.f("fk_academy_practical_signoffs_learner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"],
            ["users.id"],
            name=op.f("fk_academy_practical_signoffs_trainer_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_practical_signoffs")),
    )
    with op.batch_alter_table("academy_practical_signoffs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_academy_practical_signoffs_learner_course",
            ["learner_id", "course_id"],
            unique=False,
        )

    op.create_table(
        "academy_quiz_attempts",
        sa.Column("learner_id", sa.String(length=32), nullable=False),
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score_pct", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_quiz_attempts_course_id_academy_courses"),
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["users.id"], name=op.f("fk_academy_quiz_attempts_learner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_quiz_attempts")),
    )
    with op.batch_alter_table("academy_quiz_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_academy_quiz_attempts_learner_course", ["learner_id", "course_id"], unique=False
        )

    op.create_table(
        "academy_quiz_questions",
        sa.Column("course_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academy_courses.id"],
            name=op.f("fk_academy_quiz_questions_course_id_academy_courses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_quiz_questions")),
    )
    with op.batch_alter_table("academy_quiz_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_quiz_questions_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "academy_lessons",
        sa.Column("module_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["academy_modules.id"],
            name=op.f("fk_academy_lessons_module_id_academy_modules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_lessons")),
    )
    with op.batch_alter_table("academy_lessons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_lessons_module_id"), ["module_id"], unique=False
        )

    op.create_table(
        "academy_quiz_options",
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["academy_quiz_questions.id"],
            name=op.f("fk_academy_quiz_options_question_id_academy_quiz_questions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_quiz_options")),
    )
    with op.batch_alter_table("academy_quiz_options", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_quiz_options_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "academy_lesson_completions",
        sa.Column("learner_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.String(length=32), nullable=False),
        sa.Column("completed_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["users.id"],
            name=op.f("fk_academy_lesson_completions_learner_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["academy_lessons.id"],
            name=op.f("fk_academy_lesson_completions_lesson_id_academy_lessons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_lesson_completions")),
        sa.UniqueConstraint(
            "learner_id", "lesson_id", name=op.f("uq_academy_lesson_completions_learner_id")
        ),
    )
    with op.batch_alter_table("academy_lesson_completions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_lesson_completions_learner_id"), ["learner_id"], unique=False
        )

    op.create_table(
        "academy_lesson_media",
        sa.Column("lesson_id", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("caption", sa.JSON(), nullable=False),
        sa.Column("created_at", exoshare.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["academy_lessons.id"],
            name=op.f("fk_academy_lesson_media_lesson_id_academy_lessons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_lesson_media")),
    )
    with op.batch_alter_table("academy_lesson_media", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_academy_lesson_media_lesson_id"), ["lesson_id"], unique=False
        )

    connection = op.get_bind()
    rows = connection.execute(sa.select(old_certifications)).mappings().all()
    if rows:
        op.bulk_insert(
            certificates,
            [
                {
                    "id": row["id"],
                    "therapist_id": row["therapist_id"],
                    "model_id": row["model_id"],
                    "issued_on": row["certified_on"],
                    "expires_on": row["expires_on"],
                    "verification_code": secrets.token_hex(12),
                    "basis": "recorded",
                    "revoked_at": None,
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                }
                for row in rows
            ],
        )
    op.drop_table("therapist_certifications")


def downgrade() -> None:
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
    connection = op.get_bind()
    kept = (
        connection.execute(sa.select(certificates).where(certificates.c.revoked_at.is_(None)))
        .mappings()
        .all()
    )
    if kept:
        op.bulk_insert(
            old_certifications,
            [
                {
                    "id": row["id"],
                    "therapist_id": row["therapist_id"],
                    "model_id": row["model_id"],
                    "certified_on": row["issued_on"],
                    "expires_on": row["expires_on"],
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                }
                for row in kept
            ],
        )
    with op.batch_alter_table("academy_lesson_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_lesson_media_lesson_id"))

    op.drop_table("academy_lesson_media")
    with op.batch_alter_table("academy_lesson_completions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_lesson_completions_learner_id"))

    op.drop_table("academy_lesson_completions")
    with op.batch_alter_table("academy_quiz_options", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_quiz_options_question_id"))

    op.drop_table("academy_quiz_options")
    with op.batch_alter_table("academy_lessons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_lessons_module_id"))

    op.drop_table("academy_lessons")
    with op.batch_alter_table("academy_quiz_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_quiz_questions_course_id"))

    op.drop_table("academy_quiz_questions")
    with op.batch_alter_table("academy_quiz_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_academy_quiz_attempts_learner_course")

    op.drop_table("academy_quiz_attempts")
    with op.batch_alter_table("academy_practical_signoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_academy_practical_signoffs_learner_course")

    op.drop_table("academy_practical_signoffs")
    with op.batch_alter_table("academy_modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_modules_course_id"))

    op.drop_table("academy_modules")
    with op.batch_alter_table("academy_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_academy_certificates_therapist_model")

    op.drop_table("academy_certificates")
    with op.batch_alter_table("academy_courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_academy_courses_model_id"))

    op.drop_table("academy_courses")
