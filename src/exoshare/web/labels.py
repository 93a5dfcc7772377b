"""Human words for enum values, marked for translation.

Each map is keyed by the enum's string values, not its members: a ``StrEnum`` member hashes and
compares like its value, so ``ROLE[Role.therapist]`` finds ``ROLE["therapist"]``, and the
presentation kernel imports no capability. tests/web/test_labels.py checks that every member of
each enum has its label.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


ROLE: dict[str, str] = {
    "consortium_operator": N_("consortium operator"),
    "clinic_admin": N_("clinic admin"),
    "therapist": N_("therapist"),
    "patient": N_("patient"),
    "researcher": N_("researcher"),
    "manufacturer": N_("manufacturer"),
    "trainer": N_("trainer"),
    "translator": N_("translator"),
}

DIAGNOSIS: dict[str, str] = {
    "stroke": N_("Stroke"),
    "spinal_cord_injury": N_("Spinal cord injury"),
    "cerebral_palsy": N_("Cerebral palsy"),
    "multiple_sclerosis": N_("Multiple sclerosis"),
    "other": N_("Other"),
}

SEX: dict[str, str] = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "unknown": N_("Unknown"),
}

UNIT_STATUS: dict[str, str] = {
    "functioning": N_("Functioning"),
    "awaiting_repair": N_("Awaiting repair"),
    "unserviceable": N_("Unserviceable"),
}

DEVICE_TYPE: dict[str, str] = {
    "overground_exoskeleton": N_("Overground exoskeleton"),
    "treadmill_gait_trainer": N_("Treadmill gait trainer"),
    "end_effector_trainer": N_("End-effector trainer"),
}

SETTING = {
    "guidance_force_pct": N_("Guidance force"),
    "body_weight_support_pct": N_("Body-weight support"),
    "treadmill_speed_mps": N_("Treadmill speed"),
    "cadence_steps_per_min": N_("Cadence"),
    "step_length_m": N_("Step length"),
    "step_time_s": N_("Step time"),
    "hip_rom_limit_deg": N_("Hip range limit"),
    "knee_rom_limit_deg": N_("Knee range limit"),
    "foot_lift_height_m": N_("Foot lift height"),
    "assistance_mode": N_("Assistance mode"),
    "assistance_pct": N_("Assistance"),
    "torque_limit_nm": N_("Torque limit"),
}

THERAPY_STATUS = {
    "planned": N_("planned"),
    "started": N_("started"),
    "live": N_("live"),
    "paused": N_("paused"),
    "completed": N_("completed"),
    "aborted": N_("aborted"),
}

ALERT_KIND = {
    "skin_temperature": (N_("Skin temperature"), "°C"),
    "interaction_force": (N_("Interaction force"), "N"),
    "fall": (N_("Possible fall"), "g"),
    "battery_low": (N_("Battery low"), "%"),
    "link_lost": (N_("Link lost"), "s"),
    "gait_asymmetry": (N_("Gait asymmetry"), "%"),
}

LINK_LEVEL = {"good": N_("good"), "poor": N_("poor"), "lost": N_("lost")}
SETTING_REFUSAL = {
    "not-certified": N_(
        "you hold no valid certificate for this device model; only therapists certified "
        "for it may adjust it"
    ),
    "setting-outside-envelope": N_(
        "the value is outside the model's safety envelope (see Allowed) or changes too much "
        "in one step"
    ),
    "session-not-live": N_("settings change only while the session runs"),
    "command-pending": N_("a change of this setting is still waiting for the device's answer"),
    "forbidden": N_("you may follow this session but not change its settings"),
}
"""What the live page says when a setting change is refused, by the problem's slug; any other
refusal is said by its problem's translated title (``web.problem_words``)."""
SETTING_OUTCOME = {
    "timed_out": N_("the device did not confirm the change in time; not applied"),
    "rejected": N_("the device refused the change; it keeps its previous value"),
}
"""Why a sent change did not take effect, by its status. The device's own words (a device
speaks one language) stay in the record and the API, not on a translated page."""
ELIGIBILITY = {
    "not-certified": N_("No valid certificate for the %(model)s on %(day)s."),
    "patient-too-short": N_(
        "The patient is %(height)s m tall; the %(model)s fits %(min)s–%(max)s m."
    ),
    "patient-too-tall": N_(
        "The patient is %(height)s m tall; the %(model)s fits %(min)s–%(max)s m."
    ),
    "patient-too-heavy": N_(
        "The patient weighs %(weight)s kg; the %(model)s carries at most %(max)s kg."
    ),
    "unit-not-functioning": N_("Unit %(serial)s is not functioning."),
    "unit-in-maintenance": N_("Unit %(serial)s is under maintenance from %(from)s to %(until)s."),
    "unit-leased-elsewhere": N_("Unit %(serial)s is leased to %(clinic)s until %(until)s."),
    "unit-not-held": N_("Unit %(serial)s is held by %(holder)s, not %(clinic)s."),
    "unit-lease-ended": N_("Unit %(serial)s is at %(clinic)s without a lease on %(day)s."),
    "model-not-approved": N_("The %(model)s is not approved for use in %(country)s."),
}
"""A clinical-safety refusal (``scheduling.eligibility``) in words, by its code."""

BOOKING_RULES = {
    "public-holiday": N_("%(day)s is a public holiday."),
    "clinic-closed": N_("%(clinic)s is not open %(from)s–%(until)s on %(day)s."),
    "therapist-not-working": N_("The therapist does not work %(from)s–%(until)s on %(day)s."),
    "therapist-on-leave": N_("The therapist is on leave on %(day)s."),
    "therapist-on-break": N_("The therapist is on a break %(from)s–%(until)s."),
    "therapist-day-full": N_(
        "The therapist already has %(count)s sessions on %(day)s, their limit of %(limit)s a day."
    ),
    "patient-unavailable": N_("The patient cannot come %(from)s–%(until)s on %(day)s."),
    "beyond-travel-limit": N_(
        "%(clinic)s is %(km)s km from the patient's home, beyond the %(limit)s km travel limit."
    ),
    "weekly-dose-full": N_(
        "The patient already has %(count)s sessions in the week of %(week)s, the %(per_week)s a "
        "week of the referral."
    ),
    "course-full": N_("The course of %(course)s sessions is fully booked."),
}
"""A scheduling-rule refusal of a booking (``scheduling.booking_rules``) in words, by its code."""

NOTE_STATUS = {"draft": N_("draft"), "signed": N_("signed")}
NOTE_SECTION = {
    "subjective": N_("Subjective"),
    "objective": N_("Objective"),
    "assessment": N_("Assessment"),
    "plan": N_("Plan"),
}
EXERCISE_CATEGORY = {
    "gait": N_("Gait"),
    "balance": N_("Balance"),
    "strength": N_("Strength"),
    "mobility": N_("Mobility"),
}
ADHERENCE_STATUS = {"done": N_("Done"), "partly": N_("Partly"), "not_done": N_("Not done")}
DIFFICULTY = {"easy": N_("Easy"), "right": N_("About right"), "hard": N_("Hard")}
PLAN_FIELD = {
    "sessions_per_week": N_("Sessions per week"),
    "minutes_per_session": N_("Minutes per session"),
    "device_model": N_("Device model"),
    "device_unit": N_("Unit"),
    "starts_on": N_("Starts"),
    "ends_on": N_("Ends"),
    "goals": N_("Goals"),
}
"""The fields a plan's diff names (``careplan.plans.diff_versions``), in words."""
WALKING_AID = {
    "none": N_("no aid"),
    "cane": N_("cane"),
    "quad_cane": N_("quad cane"),
    "crutches": N_("crutches"),
    "walker": N_("walker"),
    "rollator": N_("rollator"),
    "parallel_bars": N_("parallel bars"),
    "orthosis": N_("orthosis"),
    "physical_assistance": N_("physical assistance"),
}
"""Walking aid of an outcome measurement (``outcomes.schemas.WalkingAid``)."""

GOAL_STATUS = {
    "met": N_("met"),
    "on_track": N_("on track"),
    "behind": N_("behind"),
    "missed": N_("missed"),
}

JUDGMENT = {
    "improved_beyond_mcid": N_("improved beyond the MCID"),
    "improved": N_("improved beyond measurement error"),
    "within_error": N_("within measurement error"),
    "below_mcid": N_("change smaller than the MCID"),
    "declined": N_("declined"),
    "not_judged": N_("no published threshold"),
}
"""How a change compares with the MDC and MCID (``outcomes.instruments.Judgment``)."""

POPULATION = {
    "stroke_acute": N_("acute stroke"),
    "stroke_subacute": N_("subacute stroke"),
    "stroke_chronic": N_("chronic stroke"),
    "spinal_cord_injury": N_("spinal cord injury"),
    "other": N_("other condition"),
}

PARTNER_KIND: dict[str, str] = {
    "clinic_operator": N_("clinic"),
    "manufacturer": N_("maker"),
    "university": N_("university"),
    "ngo": N_("NGO"),
    "regulator": N_("regulator"),
    "patient_group": N_("patient group"),
}

OFFERING: dict[str, str] = {
    "devices": N_("devices"),
    "training": N_("training"),
    "remote_supervision": N_("remote supervision"),
    "data": N_("data"),
    "funding": N_("funding"),
}

AGREEMENT_KIND: dict[str, str] = {
    "device_lease": N_("device lease"),
    "tele_supervision": N_("tele-supervision cover"),
    "training": N_("training"),
    "data_sharing": N_("data sharing"),
}

AGREEMENT_STATUS: dict[str, str] = {
    "draft": N_("draft"),
    "active": N_("active"),
    "ended": N_("ended"),
    "terminated": N_("terminated"),
}

CERTIFICATE_STATUS: dict[str, str] = {
    "valid": N_("Valid"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "not_yet_valid": N_("Not yet valid"),
}

CONSENT_PURPOSE = {
    "care": N_("Care at the treating clinic"),
    "remote_care": N_("Remote care by a partner clinic"),
    "research": N_("Research"),
    "ai_training": N_("Training computer models"),
    "partner_sharing": N_("Sharing with a partner organisation"),
}

CONSENT_PURPOSE_TEXT = {
    "care": N_(
        "The therapists of your clinic may see your record and your walking sessions to treat you."
    ),
    "remote_care": N_(
        "Therapists of the partner clinic you choose may follow your sessions from a distance "
        "and change device settings, always within the device's safe limits."
    ),
    "research": N_(
        "Researchers may receive your data without your name, record number or real dates, "
        "mixed with others so that nobody can pick you out."
    ),
    "ai_training": N_(
        "Computer models may learn from your data inside your clinic. Only the model's numbers "
        "leave the clinic, never your data."
    ),
    "partner_sharing": N_(
        "A partner organisation you name may receive your data for the purpose your clinic "
        "agreed with it."
    ),
}

CONSENT_STATE = {
    "granted": N_("Yes, I agree"),
    "refused": N_("No, I do not agree"),
    "withdrawn": N_("Withdrawn"),
    "not_asked": N_("Not asked yet"),
}

RESEARCH_STATUS = {
    "pending": N_("waiting for approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}

FEDERATED_STATUS = {
    "queued": N_("waiting to start"),
    "running": N_("training"),
    "finished": N_("finished"),
    "failed": N_("failed"),
}

FEDERATED_STRATEGY = {
    "fedavg": N_("FedAvg (weighted mean of the clinics' models)"),
    "fedprox": N_("FedProx (FedAvg with a pull towards the global model)"),
}

APPROVAL_DECISION = {
    "pending": N_("waiting"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}
