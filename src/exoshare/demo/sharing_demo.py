"""The demo's consents and research: every patient's decisions per purpose, remote-care consent
for the clinic covered from abroad, and a research data set asked, approved and released."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.network import service as network_service
from exoshare.patients import service as patients_service
from exoshare.sharing import consent, research
from exoshare.sharing.schemas import ApprovalDecision, Cohort, ConsentCreate, ResearchRequestCreate

COVERED_CLINIC = "NG-LOS-01"
COVERING_CLINIC = "CA-TOR-01"
"""Toronto's Dr. Wong covers Lagos (demo.network.REMOTE_COVER): Lagos patients name Toronto."""

# Shares of patients who agreed, by purpose; the rest refused or were not asked yet. Surveys of
# rehabilitation patients find most willing to share de-identified data for research, fewer for
# commercial or AI uses.
AGREE_SHARE = {ConsentPurpose.research: 0.82, ConsentPurpose.ai_training: 0.64}
REFUSE_SHARE = {ConsentPurpose.research: 0.10, ConsentPurpose.ai_training: 0.21}

RESEARCH_CLINICS = ("ES-MAD-01", "IN-BLR-01", "CA-TOR-01")
RESEARCH_VARIABLES = ["age_years", "sex", "country", "diagnosis", "height_m", "sessions"]


def seed_consents(session: Session, today: date, seed: int = 7) -> int:
    """Each patient's decisions, taken on admission (before the demo's sessions)."""
    rng = random.Random(seed)
    clinics = {c.code: c for c in network_service.located_clinics(session)}
    covering = clinics.get(COVERING_CLINIC)
    decisions: list[tuple[str, ConsentCreate, datetime]] = []
    for code, clinic in sorted(clinics.items()):
        for patient in patients_service.clinic_patients(
            session, SYSTEM_DEMO, clinic.id, order="record_number"
        ):
            when = datetime.combine(today - timedelta(days=rng.randint(60, 400)), time(10), UTC)
            language = patient.preferred_language
            decisions.append(
                (
                    patient.id,
                    ConsentCreate(
                        purpose=ConsentPurpose.care,
                        decision=ConsentDecision.permit,
                        language=language,
                    ),
                    when,
                )
            )
            for purpose, agree in AGREE_SHARE.items():
                draw = rng.random()
                if draw < agree:
                    decision = ConsentDecision.permit
                elif draw < agree + REFUSE_SHARE[purpose]:
                    decision = ConsentDecision.deny
                else:
                    continue  # not asked yet
                decisions.append(
                    (
                        patient.id,
                        ConsentCreate(purpose=purpose, decision=decision, language=language),
                        when,
                    )
                )
            if code == COVERED_CLINIC and covering is not None:
                decisions.append(
                    (
                        patient.id,
                        ConsentCreate(
                            purpose=ConsentPurpose.remote_care,
                            decision=ConsentDecision.permit,
                            partner_clinic_id=covering.id,
                            language=language,
                        ),
                        when,
                    )
                )
    return consent.record_past_consents(session, SYSTEM_DEMO, decisions)


def seed_research(session: Session, researcher_email: str) -> None:
    """A released data set from three clinics, and a request still waiting for Bangalore."""
    researcher = auth_service.user_by_email(session, SYSTEM_DEMO, researcher_email)
    clinics = {c.code: c for c in network_service.located_clinics(session)}
    ids = [clinics[code].id for code in RESEARCH_CLINICS if code in clinics]
    if researcher is None or len(ids) < 2:
        return
    principal = auth_service.principal_for(session, researcher)
    released = research.create_request(
        session,
        principal,
        ResearchRequestCreate(
            title="Exoskeleton dose and walking recovery across three continents",
            purpose="Relate the number of robot-assisted sessions to the walking ability "
            "reached, by condition and country, for the consortium's outcome registry.",
            cohort=Cohort(clinic_ids=ids),
            variables=RESEARCH_VARIABLES,
            k=5,
            l_diversity=1,
            suppression_limit=0.05,
        ),
    )
    for clinic_id in ids:
        research.decide(
            session,
            SYSTEM_DEMO,
            released.id,
            clinic_id,
            ApprovalDecision.approved,
            "ethics committee approval on file",
        )
    research.export(session, principal, released.id)
    research.create_request(
        session,
        principal,
        ResearchRequestCreate(
            title="Home exoskeleton use in community rehabilitation",
            purpose="Describe who walks with a home exoskeleton in Bangalore and Madrid, and "
            "how far, to plan the next lease programme.",
            cohort=Cohort(clinic_ids=[clinics["IN-BLR-01"].id, clinics["ES-MAD-01"].id]),
            variables=["age_years", "sex", "diagnosis", "sessions", "total_distance_m"],
            k=5,
            l_diversity=1,
            suppression_limit=0.1,
        ),
    )
