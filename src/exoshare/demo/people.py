"""The demo's drawn people: names, ages, onset of their condition, body measures and language,
by country, sex and diagnosis, from published population figures (see network_data).

Every draw takes the generator's ``random.Random``, so one seed gives the same people.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TypeVar

from exoshare.demo.network_data import (
    CP_DETAILS,
    MS_DETAILS,
    NAMES,
    OTHER_DETAILS,
    SCI_AIS,
    SCI_LEVELS,
    STROKE_DETAILS,
    WHO_FIRST_AGE,
    WHO_MEDIAN_HEIGHT_M,
    ClinicSpec,
    CountrySpec,
)
from exoshare.patients.schemas import Diagnosis, Sex

T = TypeVar("T")

# Adults lose height with age (disc compression) and older cohorts grew up shorter; together
# about 1.2 mm a year after 40 fits cross-sectional survey data.
HEIGHT_LOSS_M_PER_YEAR_AFTER_40 = 0.0012
# Children with cerebral palsy are on average about half an SD shorter than their peers.
CP_CHILD_HEIGHT_OFFSET_SD = -0.5
CHILD_HEIGHT_SD_FRACTION = 0.045  # SD of height-for-age ≈ 4.5 % of the median at 8–17 years


def weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    """One of the options, drawn with the given weights."""
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _truncated_gauss(rng: random.Random, mean: float, sd: float, limit_sd: float = 2.5) -> float:
    """A normal draw rejected beyond ``limit_sd`` so no patient is implausibly extreme."""
    while True:
        value = rng.gauss(mean, sd)
        if abs(value - mean) <= limit_sd * sd:
            return value


def years_before(reference: date, years: float) -> date:
    return reference - timedelta(days=round(years * 365.25))


def age_at(birth: date, on: date) -> float:
    return (on - birth).days / 365.25


# ---------------------------------------------------------------------------------------------
# Body measures


def height_for(
    rng: random.Random, country: CountrySpec, sex: Sex, age_years: float, diagnosis: Diagnosis
) -> float:
    """A height in metres for a patient of this country, sex and age."""
    male = sex is Sex.male
    adult_mean = country.male_height_m if male else country.female_height_m
    if age_years < 18:
        medians = WHO_MEDIAN_HEIGHT_M["male" if male else "female"]
        position = min(max(age_years - WHO_FIRST_AGE, 0.0), len(medians) - 1.0)
        low = int(position)
        high = min(low + 1, len(medians) - 1)
        median = medians[low] + (medians[high] - medians[low]) * (position - low)
        mean = median * adult_mean / medians[-1]
        sd = mean * CHILD_HEIGHT_SD_FRACTION
        if diagnosis is Diagnosis.cerebral_palsy:
            mean += CP_CHILD_HEIGHT_OFFSET_SD * sd
    else:
        sd = country.male_height_sd_m if male else country.female_height_sd_m
        mean = adult_mean - HEIGHT_LOSS_M_PER_YEAR_AFTER_40 * max(age_years - 40.0, 0.0)
    return round(_truncated_gauss(rng, mean, sd), 2)


def weight_for(
    rng: random.Random,
    country: CountrySpec,
    height_m: float,
    age_years: float,
    diagnosis: Diagnosis,
) -> float:
    """A weight in kg from a BMI drawn around the country's adult mean (or a child's for age)."""
    if age_years < 18:
        # Median BMI-for-age rises from about 15.8 at 8 years to 20.5 at 17.
        bmi = _truncated_gauss(rng, 15.8 + 0.52 * (age_years - 8.0), 2.3)
        if diagnosis is Diagnosis.cerebral_palsy:
            bmi -= 0.8
    else:
        bmi = _truncated_gauss(rng, country.mean_bmi, 4.2)
    return round(max(bmi, 13.5) * height_m**2, 1)


def age_for(rng: random.Random, diagnosis: Diagnosis) -> float:
    """Age on the reference date: CP mostly children, SCI young adults, stroke older adults."""
    if diagnosis is Diagnosis.cerebral_palsy:
        if rng.random() < 0.75:
            return rng.uniform(8.0, 17.9)
        return rng.uniform(18.0, 35.0)
    if diagnosis is Diagnosis.stroke:
        return min(max(rng.gauss(66.0, 11.0), 35.0), 85.0)
    if diagnosis is Diagnosis.spinal_cord_injury:
        return min(max(rng.gauss(36.0, 12.0), 18.0), 72.0)
    if diagnosis is Diagnosis.multiple_sclerosis:
        return min(max(rng.gauss(46.0, 10.0), 24.0), 72.0)
    return rng.uniform(20.0, 80.0)


def onset_for(
    rng: random.Random, diagnosis: Diagnosis, birth: date, age_years: float, reference: date
) -> tuple[date, str]:
    """Onset date (between birth and the reference date) and a clinical detail line."""
    latest_days = (reference - birth).days
    if diagnosis is Diagnosis.cerebral_palsy:
        return birth, rng.choice(CP_DETAILS)
    if diagnosis is Diagnosis.stroke:
        # Most patients start robotic gait training in the subacute months after a stroke.
        days = 14 + int(rng.expovariate(1 / 240))
        detail = rng.choice(STROKE_DETAILS)
        cap_days = 6 * 365
    elif diagnosis is Diagnosis.spinal_cord_injury:
        days = 30 + int(rng.expovariate(1 / 900))
        level, grade = rng.choice(SCI_LEVELS), rng.choice(SCI_AIS)
        # AIS A means no motor or sensory function below the level: a complete injury.
        detail = f"{'Complete' if grade == 'A' else 'Incomplete'} SCI {level}, AIS {grade}"
        # Injuries in the demo happen from age 16 on.
        cap_days = max(int((age_years - 16.0) * 365.25), 31)
    elif diagnosis is Diagnosis.multiple_sclerosis:
        onset_age = rng.uniform(20.0, max(age_years - 1.0, 20.5))
        onset = min(birth + timedelta(days=round(onset_age * 365.25)), reference)
        return onset, rng.choice(MS_DETAILS)
    else:
        days = 30 + int(rng.expovariate(1 / 400))
        detail = rng.choice(OTHER_DETAILS)
        cap_days = max(int((age_years - 5.0) * 365.25), 31)
    days = min(days, cap_days, latest_days)
    return reference - timedelta(days=days), detail


# The language a name culture usually speaks at home; where the clinic works in it, most such
# patients choose it, and the rest pick from the clinic's languages like everybody else.
CULTURE_LANGUAGE = {
    "english": "en", "hispanic": "es", "spanish": "es", "german": "de", "turkish": "tr",
    "french": "fr", "dutch": "nl", "indian_north": "hi", "indian_south": "kn", "japanese": "ja",
    "korean": "ko", "chinese": "zh", "malay": "ms", "filipino": "fil", "kenyan": "sw",
    "south_african": "xh", "afrikaans": "af", "brazilian": "pt",
}  # fmt: skip
HOME_LANGUAGE_SHARE = 0.75


def language_for(rng: random.Random, clinic: ClinicSpec, culture: str) -> str:
    """The language a patient of this name culture chooses at this clinic."""
    own = CULTURE_LANGUAGE.get(culture)
    in_clinic = own is not None and own in dict(clinic.patient_languages)
    if rng.random() < HOME_LANGUAGE_SHARE and own is not None and in_clinic:
        return own
    return weighted(rng, clinic.patient_languages)


def name_for(rng: random.Random, country: CountrySpec, sex: Sex) -> tuple[str, str, str]:
    """Given name, family name and name culture of a person of this country and sex."""
    culture = weighted(rng, country.name_cultures)
    pool = NAMES[culture]
    given = rng.choice(pool["male" if sex is Sex.male else "female"])
    family = rng.choice(pool["family"])
    if culture in ("spanish", "hispanic") and rng.random() < 0.6:
        # Spanish-speaking countries use both surnames: father's, then mother's.
        second = rng.choice(pool["family"])
        if second != family:
            family = f"{family} {second}"
    return given, family, culture
