"""Every value of each enum shown on a page has its human words.

web/labels.py keys its maps by the enums' string values so the presentation kernel imports no
capability; this test is what ties each map to its enum instead.
"""

from __future__ import annotations

import enum

import pytest

from exoshare.academy.schemas import CertificateStatus
from exoshare.auth.schemas import Role
from exoshare.careplan.schemas import (
    AdherenceStatus,
    Difficulty,
    ExerciseCategory,
    NoteSection,
    NoteStatus,
)
from exoshare.consents.schemas import ConsentPurpose
from exoshare.devices.schemas import DeviceType, UnitStatus
from exoshare.network.schemas import AgreementKind, AgreementStatus, Offering, PartnerKind
from exoshare.patients.schemas import Diagnosis, Sex
from exoshare.sharing.schemas import (
    ApprovalDecision,
    ConsentState,
    FederatedStatus,
    FederatedStrategy,
    ResearchStatus,
)
from exoshare.web import labels


@pytest.mark.parametrize(
    ("enum_type", "words"),
    [
        (Role, labels.ROLE),
        (Diagnosis, labels.DIAGNOSIS),
        (Sex, labels.SEX),
        (UnitStatus, labels.UNIT_STATUS),
        (DeviceType, labels.DEVICE_TYPE),
        (NoteStatus, labels.NOTE_STATUS),
        (NoteSection, labels.NOTE_SECTION),
        (ExerciseCategory, labels.EXERCISE_CATEGORY),
        (AdherenceStatus, labels.ADHERENCE_STATUS),
        (Difficulty, labels.DIFFICULTY),
        (CertificateStatus, labels.CERTIFICATE_STATUS),
        (PartnerKind, labels.PARTNER_KIND),
        (Offering, labels.OFFERING),
        (AgreementKind, labels.AGREEMENT_KIND),
        (AgreementStatus, labels.AGREEMENT_STATUS),
        (ConsentPurpose, labels.CONSENT_PURPOSE),
        (ConsentPurpose, labels.CONSENT_PURPOSE_TEXT),
        (ConsentState, labels.CONSENT_STATE),
        (ResearchStatus, labels.RESEARCH_STATUS),
        (FederatedStatus, labels.FEDERATED_STATUS),
        (FederatedStrategy, labels.FEDERATED_STRATEGY),
        (ApprovalDecision, labels.APPROVAL_DECISION),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_every_member_has_a_label_and_no_label_is_stale(
    enum_type: type[enum.StrEnum], words: dict[str, str]
) -> None:
    assert {member.value for member in enum_type} == set(words)
    for member in enum_type:
        assert words[member]  # a member finds its label by itself, as the templates look it up
