"""Migration 0024 moves every certificate from scheduling's table into the academy's, and back."""

from __future__ import annotations

from sqlalchemy import inspect, text

from exoshare.db import downgrade, make_engine, upgrade

STAMP = "2026-03-01 10:00:00+00:00"


def _before_academy() -> str:
    """The revision 0024 builds on (main's head when the academy landed)."""
    from alembic.script import ScriptDirectory

    from exoshare.db import alembic_config

    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0024")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


def test_upgrade_keeps_every_certificate_and_downgrade_brings_them_back(database_url: str) -> None:
    downgrade(database_url, _before_academy())
    engine = make_engine(database_url)
    try:
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO partners (id, name, kind, country_code, created_at, updated_at) "
                    "VALUES ('p1', 'Andes Robotics', 'manufacturer', 'CL', :t, :t)"
                ),
                {"t": STAMP},
            )
            c.execute(
                text(
                    "INSERT INTO device_models (id, name, maker_id, device_type, "
                    "min_patient_height_m, max_patient_height_m, max_patient_weight_kg, "
                    "power_requirements, created_at, updated_at) VALUES ('m1', 'Strider X2', "
                    "'p1', 'overground_exoskeleton', 1.5, 1.95, 110, 'battery', :t, :t)"
                ),
                {"t": STAMP},
            )
            for user in ("u1", "u2"):
                c.execute(
                    text(
                        "INSERT INTO users (id, email, display_name, password_hash, locale, "
                        "active, created_at, updated_at) VALUES (:id, :email, :id, 'x', 'en', "
                        "true, :t, :t)"
                    ),
                    {"id": user, "email": f"{user}@test.exoshare.org", "t": STAMP},
                )
            for cert, user, first, last in (
                ("c1", "u1", "2025-01-01", "2027-12-31"),
                ("c2", "u2", "2024-02-01", "2025-01-31"),
            ):
                c.execute(
                    text(
                        "INSERT INTO therapist_certifications (id, therapist_id, model_id, "
                        "certified_on, expires_on, created_at, updated_at) "
                        "VALUES (:id, :u, 'm1', :a, :b, :t, :t)"
                    ),
                    {"id": cert, "u": user, "a": first, "b": last, "t": STAMP},
                )
        upgrade(database_url)
        assert "therapist_certifications" not in inspect(engine).get_table_names()
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT id, therapist_id, model_id, issued_on, expires_on, basis, "
                    "verification_code, revoked_at FROM academy_certificates ORDER BY id"
                )
            ).all()
        assert [(r[0], r[1], r[2], str(r[3]), str(r[4]), r[5], r[7]) for r in rows] == [
            ("c1", "u1", "m1", "2025-01-01", "2027-12-31", "recorded", None),
            ("c2", "u2", "m1", "2024-02-01", "2025-01-31", "recorded", None),
        ]
        codes = [r[6] for r in rows]
        assert all(len(code) == 24 for code in codes) and codes[0] != codes[1]

        downgrade(database_url, _before_academy())
        with engine.connect() as c:
            back = c.execute(
                text(
                    "SELECT id, certified_on, expires_on FROM therapist_certifications ORDER BY id"
                )
            ).all()
        assert [(r[0], str(r[1]), str(r[2])) for r in back] == [
            ("c1", "2025-01-01", "2027-12-31"),
            ("c2", "2024-02-01", "2025-01-31"),
        ]
    finally:
        upgrade(database_url)
        engine.dispose()
