"""The purposes a patient decides on, and the decisions (FHIR Consent.provision.type)."""

from __future__ import annotations

import enum


class ConsentPurpose(enum.StrEnum):
    """What a patient's data may be used for; each purpose has its own decision."""

    care = "care"
    """Care at the treating clinic."""
    remote_care = "remote_care"
    """Remote care by a named partner clinic (its therapists follow and adjust sessions)."""
    research = "research"
    """De-identified research data sets."""
    ai_training = "ai_training"
    """Training models across clinics; the data stays in the clinic (federated)."""
    partner_sharing = "partner_sharing"
    """Sharing with a named partner organisation."""


PURPOSES_WITH_CLINIC = frozenset({ConsentPurpose.remote_care})
PURPOSES_WITH_PARTNER = frozenset({ConsentPurpose.partner_sharing})


class ConsentDecision(enum.StrEnum):
    """FHIR Consent.provision.type."""

    permit = "permit"
    deny = "deny"
