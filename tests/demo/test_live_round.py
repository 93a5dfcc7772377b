"""The demo's live round: who runs which session on which device, and who may adjust it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from exoshare import db
from exoshare.auth.models import User
from exoshare.demo.live import prepare_round
from exoshare.demo.network import MARIA_EMAIL, REMOTE_THERAPIST_EMAIL, ensure_demo_network
from exoshare.devices.models import DeviceModel, DeviceUnit
from exoshare.telerehab.models import TherapySession
from exoshare.telerehab.schemas import TherapyLocation
from exoshare.telerehab.sessions import is_certified


def test_each_live_session_has_a_therapist_certified_for_its_device(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    db.upgrade(url)
    factory = db.make_sessionmaker(db.make_engine(url))
    with db.session_scope(factory) as s:
        ensure_demo_network(s)
    devices = prepare_round(factory)
    assert [(d.org_unit_code, d.spot.flaky) for d in devices] == [
        ("ES-MAD-01", False),
        ("ES-MAD-01", False),
        ("NG-LOS-01", True),
        ("IN-BLR-01", False),
    ]
    with factory() as s:
        rows = []
        for therapy in s.scalars(select(TherapySession).order_by(TherapySession.created_at)):
            therapist = s.get(User, therapy.therapist_id)
            unit = s.get(DeviceUnit, therapy.device_unit_id)
            assert therapist is not None and unit is not None
            model = s.get(DeviceModel, unit.model_id)
            assert model is not None
            # A certificate is what lets a therapist run a model.
            assert is_certified(s, therapist.id, model.id), (therapist.email, model.name)
            rows.append((therapist.email, model.name, therapy.location))
        maria = s.scalar(select(User).where(User.email == MARIA_EMAIL))
        assert maria is not None
        madrid_first, madrid_second, lagos, _ = rows
        # Journey 1: Maria's own session, and a colleague's on a model she holds no
        # certificate for (she may watch it; a setting change is refused).
        assert madrid_first[0] == MARIA_EMAIL
        assert madrid_second[0] != MARIA_EMAIL and madrid_second[1] == "Corvane AX2"
        ax2 = s.scalar(select(DeviceModel).where(DeviceModel.name == "Corvane AX2"))
        assert ax2 is not None and not is_certified(s, maria.id, ax2.id)
        # Journey 3: a home session in Lagos, run from Toronto.
        assert lagos[0] == REMOTE_THERAPIST_EMAIL and lagos[2] is TherapyLocation.home
