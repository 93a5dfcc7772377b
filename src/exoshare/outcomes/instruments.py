"""The outcome-measure catalogue: each instrument's items, scoring, ranges, units and thresholds.

A numeric core (no web framework or database). An instrument turns the items a clinician enters
into its scores (`score(instrument, items)`); the total is always computed, never typed.

Thresholds (minimal detectable change, MDC; minimal clinically important difference, MCID) are
given per population only where a source was read for this module; each carries its citation.
Where no figure was verified, the threshold is None and the change is shown without a verdict.
LOINC codes likewise: only the codes found in published FHIR material are given (mRS 75859-9,
seen in HL7 FHIR R5 EvidenceVariable examples; 6MWT 64098-7 "Walking distance 6 minutes", seen in
FHIR Observation profiles); every other code is None until checked against loinc.org.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from exoshare.errors import N_


class InstrumentCode(enum.StrEnum):
    ten_mwt = "ten_mwt"
    six_mwt = "six_mwt"
    tug = "tug"
    berg = "berg"
    fac = "fac"
    mrs = "mrs"
    tct = "tct"
    motricity_leg = "motricity_leg"
    wisci_ii = "wisci_ii"


class Measure(enum.StrEnum):
    """One number on the timeline: an instrument's score, or a device-derived session value."""

    ten_mwt_comfortable_mps = "ten_mwt_comfortable_mps"
    ten_mwt_fast_mps = "ten_mwt_fast_mps"
    six_mwt_m = "six_mwt_m"
    tug_s = "tug_s"
    berg = "berg"
    fac = "fac"
    mrs = "mrs"
    tct = "tct"
    motricity_leg = "motricity_leg"
    wisci_ii = "wisci_ii"
    device_gait_speed_mps = "device_gait_speed_mps"
    device_distance_m = "device_distance_m"
    device_cadence_steps_per_min = "device_cadence_steps_per_min"
    device_step_time_symmetry_pct = "device_step_time_symmetry_pct"


class Population(enum.StrEnum):
    """Whose published thresholds apply. Stroke phases by days since onset: acute before day 20,
    subacute to day 180, chronic after (Tilson 2010 studied days 20-60 as the early subacute
    window; the 6-month line is the usual start of the chronic phase)."""

    stroke_acute = "stroke_acute"
    stroke_subacute = "stroke_subacute"
    stroke_chronic = "stroke_chronic"
    spinal_cord_injury = "spinal_cord_injury"
    other = "other"


ACUTE_BEFORE_DAY = 20
CHRONIC_AFTER_DAY = 180


def population_for(diagnosis: str, days_since_onset: float | None) -> Population:
    """The population whose thresholds apply to a patient with this diagnosis at this time."""
    if diagnosis == "spinal_cord_injury":
        return Population.spinal_cord_injury
    if diagnosis != "stroke":
        return Population.other
    if days_since_onset is None or days_since_onset > CHRONIC_AFTER_DAY:
        return Population.stroke_chronic
    if days_since_onset < ACUTE_BEFORE_DAY:
        return Population.stroke_acute
    return Population.stroke_subacute


class ScoreError(ValueError):
    """Items that cannot be scored; ``field`` names the item, the message says how to fix it.

    ``message`` (marked ``N_``) and ``params`` let a page say it in the reader's language;
    ``*_label`` params are interface strings, translated where they are shown.
    """

    def __init__(self, message: str, field: str, **params: object) -> None:
        self.message = message
        self.params = {key: str(value) for key, value in params.items()}
        super().__init__(message % self.params)
        self.field = field


@dataclass(frozen=True)
class Threshold:
    """MDC and MCID of one measure in one population, with where they come from.

    ``mdc_bands``: an MDC that depends on the baseline value, as (upper bound of the baseline,
    MDC) pairs in increasing order; the last band covers everything above.
    """

    population: Population
    citation: str
    mcid: float | None = None
    mdc: float | None = None
    mdc_bands: tuple[tuple[float, float], ...] = ()

    def mdc_at(self, baseline: float) -> float | None:
        for upper, value in self.mdc_bands:
            if baseline < upper:
                return value
        return self.mdc


@dataclass(frozen=True)
class MeasureSpec:
    measure: Measure
    label: str
    unit: str
    low: float
    high: float
    higher_is_better: bool
    digits: int
    loinc: str | None = None
    device_derived: bool = False
    thresholds: tuple[Threshold, ...] = ()

    def threshold_for(self, population: Population) -> Threshold | None:
        return next((t for t in self.thresholds if t.population is population), None)


@dataclass(frozen=True)
class Item:
    """One entry field: a number within [low, high], or one of ``choices`` when given."""

    key: str
    label: str
    low: float
    high: float
    unit: str = ""
    choices: tuple[int, ...] = ()
    required: bool = True
    help: str = ""
    choice_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instrument:
    code: InstrumentCode
    name: str
    abbreviation: str
    items: tuple[Item, ...]
    measures: tuple[Measure, ...]
    reference: str
    item_level: bool = field(default=False)
    """Scored from several items (Berg, TCT, Motricity): entered one item at a time."""


# --- thresholds (each with its source) --------------------------------------------------

TILSON_2010 = (
    "Tilson JK et al. Meaningful gait speed improvement during the first 60 days poststroke: "
    "minimal clinically important difference. Phys Ther. 2010;90(2):196-208 (LEAPS, n=283, "
    "days 20-60; MCID 0.16 m/s anchored to the mRS)"
)
HAYASHI_2022 = (
    "Hayashi S et al. Minimal clinically important difference of the Berg Balance Scale and "
    "comfortable walking speed in patients with acute stroke. Clin Rehabil. "
    "2022;36(11):1512-1523 (n=75; anchor-based MCID Berg 6.5-12.5 points, comfortable speed "
    "0.18-0.25 m/s; the lower bounds are used)"
)
HOSOI_2023 = (
    "Hosoi Y et al. Estimation of minimal detectable change in the 10-meter walking test for "
    "patients with stroke: a study stratified by gait speed. Front Neurol. 2023;14:1219505 "
    "(n=84; MDC comfortable 0.05 / 0.11 / 0.21 m/s and fast 0.04 / 0.12 / 0.19 m/s for "
    "speeds < 0.4, 0.4-0.8, > 0.8 m/s)"
)
HIENGKAEW_2012 = (
    "Hiengkaew V et al. Minimal detectable changes of the Berg Balance Scale, Fugl-Meyer "
    "Assessment Scale, Timed 'Up & Go' Test, gait speeds, and 2-minute walk test in individuals "
    "with chronic stroke. Arch Phys Med Rehabil. 2012;93(7):1201-1208 (n=61; MDC95 Berg 5 "
    "points, TUG 8 s, comfortable speed 0.2 m/s, fast speed 0.1 m/s)"
)
FULK_2018 = (
    "Fulk GD et al. Minimal clinically important difference of the 6-minute walk test in "
    "people with stroke. J Neurol Phys Ther. 2018;42(4):235-240 (2-6 months poststroke; "
    "MCID 71 m with the mRS as anchor, 44 m for initial speed < 0.4 m/s)"
)

_COMFORTABLE_BANDS = ((0.4, 0.05), (0.8, 0.11), (math.inf, 0.21))
_FAST_BANDS = ((0.4, 0.04), (0.8, 0.12), (math.inf, 0.19))
ACUTE, SUBACUTE, CHRONIC = (
    Population.stroke_acute,
    Population.stroke_subacute,
    Population.stroke_chronic,
)

MEASURES: dict[Measure, MeasureSpec] = {
    spec.measure: spec
    for spec in (
        MeasureSpec(
            Measure.ten_mwt_comfortable_mps,
            N_("10MWT comfortable gait speed"),
            "m/s",
            0.0,
            4.0,
            True,
            2,
            thresholds=(
                Threshold(
                    ACUTE, f"{HAYASHI_2022}; {HOSOI_2023}", 0.18, mdc_bands=_COMFORTABLE_BANDS
                ),
                Threshold(
                    SUBACUTE, f"{TILSON_2010}; {HOSOI_2023}", 0.16, mdc_bands=_COMFORTABLE_BANDS
                ),
                Threshold(CHRONIC, HIENGKAEW_2012, mdc=0.2),
            ),
        ),
        MeasureSpec(
            Measure.ten_mwt_fast_mps,
            N_("10MWT fast gait speed"),
            "m/s",
            0.0,
            5.0,
            True,
            2,
            thresholds=(
                Threshold(ACUTE, HOSOI_2023, mdc_bands=_FAST_BANDS),
                Threshold(SUBACUTE, HOSOI_2023, mdc_bands=_FAST_BANDS),
                Threshold(CHRONIC, HIENGKAEW_2012, mdc=0.1),
            ),
        ),
        MeasureSpec(
            Measure.six_mwt_m,
            N_("6-minute walk distance"),
            "m",
            0.0,
            1000.0,
            True,
            0,
            loinc="64098-7",
            thresholds=(Threshold(SUBACUTE, FULK_2018, mcid=71.0),),
        ),
        MeasureSpec(
            Measure.tug_s,
            N_("Timed Up and Go"),
            "s",
            0.0,
            600.0,
            False,
            1,
            thresholds=(Threshold(CHRONIC, HIENGKAEW_2012, mdc=8.0),),
        ),
        MeasureSpec(
            Measure.berg,
            N_("Berg Balance Scale"),
            N_("points"),
            0,
            56,
            True,
            0,
            thresholds=(
                Threshold(ACUTE, HAYASHI_2022, mcid=6.5),
                Threshold(CHRONIC, HIENGKAEW_2012, mdc=5.0),
            ),
        ),
        MeasureSpec(Measure.fac, N_("Functional Ambulation Category"), "", 0, 5, True, 0),
        MeasureSpec(Measure.mrs, N_("modified Rankin Scale"), "", 0, 6, False, 0, loinc="75859-9"),
        MeasureSpec(Measure.tct, N_("Trunk Control Test"), N_("points"), 0, 100, True, 0),
        MeasureSpec(
            Measure.motricity_leg, N_("Motricity Index (leg)"), N_("points"), 0, 100, True, 0
        ),
        MeasureSpec(Measure.wisci_ii, "WISCI II", "", 0, 20, True, 0),
        MeasureSpec(
            Measure.device_gait_speed_mps,
            N_("Gait speed (device)"),
            "m/s",
            0,
            4,
            True,
            2,
            device_derived=True,
        ),
        MeasureSpec(
            Measure.device_distance_m,
            N_("Walking distance (device)"),
            "m",
            0,
            1e5,
            True,
            0,
            device_derived=True,
        ),
        MeasureSpec(
            Measure.device_cadence_steps_per_min,
            N_("Cadence (device)"),
            N_("steps/min"),
            0,
            300,
            True,
            0,
            device_derived=True,
        ),
        MeasureSpec(
            Measure.device_step_time_symmetry_pct,
            N_("Step-time symmetry index (device)"),
            "%",
            -200,
            200,
            False,
            1,
            device_derived=True,
        ),
    )
}

# --- instruments --------------------------------------------------------------------------

BERG_ITEMS = (
    N_("Sitting to standing"),
    N_("Standing unsupported"),
    N_("Sitting with back unsupported"),
    N_("Standing to sitting"),
    N_("Transfers"),
    N_("Standing with eyes closed"),
    N_("Standing with feet together"),
    N_("Reaching forward with outstretched arm"),
    N_("Picking up an object from the floor"),
    N_("Turning to look behind"),
    N_("Turning 360 degrees"),
    N_("Placing alternate foot on a stool"),
    N_("Standing with one foot in front"),
    N_("Standing on one leg"),
)
TCT_ITEMS = (
    N_("Rolling to the weak side"),
    N_("Rolling to the strong side"),
    N_("Sitting up from lying down"),
    N_("Sitting balance on the edge of the bed"),
)
MOTRICITY_LEG_ITEMS = (N_("Hip flexion"), N_("Knee extension"), N_("Ankle dorsiflexion"))
MOTRICITY_GRADES = (0, 9, 14, 19, 25, 33)
MOTRICITY_LABELS = (
    N_("no movement"),
    N_("palpable contraction, no movement"),
    N_("visible movement, not full range or not against gravity"),
    N_("full range against gravity, not against resistance"),
    N_("movement against resistance, weaker than the other side"),
    N_("normal power"),
)
TCT_GRADES = (0, 12, 25)
TCT_LABELS = ("unable without help", "able with non-muscular help or abnormal way", "normal")
FAC_LABELS = (
    N_("non-functional: cannot walk, or needs two helpers"),
    N_("needs continuous help from one person (support of body weight and balance)"),
    N_("needs intermittent light help from one person (balance, coordination)"),
    N_("needs supervision or verbal cueing, no physical contact"),
    N_("independent on level ground, needs help on stairs, slopes or uneven surfaces"),
    N_("independent everywhere, including stairs and uneven ground"),
)
MRS_LABELS = (
    N_("no symptoms"),
    N_("no significant disability despite symptoms"),
    N_("slight disability"),
    N_("moderate disability; walks without help"),
    N_("moderately severe disability; cannot walk without help"),
    N_("severe disability; bedridden"),
    N_("dead"),
)

INSTRUMENTS: dict[InstrumentCode, Instrument] = {
    i.code: i
    for i in (
        Instrument(
            InstrumentCode.ten_mwt,
            N_("10-metre walk test"),
            "10MWT",
            (
                Item(
                    "distance_m",
                    N_("Timed distance"),
                    2.0,
                    30.0,
                    "m",
                    help=N_("The timed middle part of the walkway, usually 10 m."),
                ),
                Item("comfortable_time_s", N_("Time at comfortable speed"), 0.5, 600.0, "s"),
                Item("fast_time_s", N_("Time at fast speed"), 0.5, 600.0, "s", required=False),
            ),
            (Measure.ten_mwt_comfortable_mps, Measure.ten_mwt_fast_mps),
            "Speed = timed distance / time, at comfortable and at fast speed.",
        ),
        Instrument(
            InstrumentCode.six_mwt,
            N_("6-minute walk test"),
            "6MWT",
            (Item("distance_m", N_("Distance walked in 6 minutes"), 0.0, 1000.0, "m"),),
            (Measure.six_mwt_m,),
            "ATS statement 2002: distance walked in 6 minutes.",
        ),
        Instrument(
            InstrumentCode.tug,
            N_("Timed Up and Go"),
            "TUG",
            (
                Item(
                    "time_s",
                    N_("Time to stand, walk 3 m, turn, walk back and sit"),
                    0.5,
                    600.0,
                    "s",
                ),
            ),
            (Measure.tug_s,),
            "Podsiadlo & Richardson, J Am Geriatr Soc 1991;39:142-148.",
        ),
        Instrument(
            InstrumentCode.berg,
            N_("Berg Balance Scale"),
            "BBS",
            tuple(
                Item(f"item_{n:02d}", label, 0, 4, choices=(0, 1, 2, 3, 4))
                for n, label in enumerate(BERG_ITEMS, start=1)
            ),
            (Measure.berg,),
            "Berg K et al., Physiotherapy Canada 1989;41:304-311: 14 items 0-4, total 0-56.",
            item_level=True,
        ),
        Instrument(
            InstrumentCode.fac,
            N_("Functional Ambulation Category"),
            "FAC",
            (
                Item(
                    "category",
                    N_("Category"),
                    0,
                    5,
                    choices=tuple(range(6)),
                    choice_labels=FAC_LABELS,
                ),
            ),
            (Measure.fac,),
            "Holden MK et al., Phys Ther 1984;64:35-40: categories 0-5.",
        ),
        Instrument(
            InstrumentCode.mrs,
            N_("modified Rankin Scale"),
            "mRS",
            (Item("grade", N_("Grade"), 0, 6, choices=tuple(range(7)), choice_labels=MRS_LABELS),),
            (Measure.mrs,),
            "van Swieten JC et al., Stroke 1988;19:604-607: grades 0-6.",
        ),
        Instrument(
            InstrumentCode.tct,
            N_("Trunk Control Test"),
            "TCT",
            tuple(
                Item(f"item_{n}", label, 0, 25, choices=TCT_GRADES, choice_labels=TCT_LABELS)
                for n, label in enumerate(TCT_ITEMS, start=1)
            ),
            (Measure.tct,),
            "Collin C & Wade D, J Neurol Neurosurg Psychiatry 1990;53:576-579: 4 items "
            "scored 0/12/25, total 0-100.",
            item_level=True,
        ),
        Instrument(
            InstrumentCode.motricity_leg,
            N_("Motricity Index (leg)"),
            "MI-leg",
            tuple(
                Item(
                    f"item_{n}",
                    label,
                    0,
                    33,
                    choices=MOTRICITY_GRADES,
                    choice_labels=MOTRICITY_LABELS,
                )
                for n, label in enumerate(MOTRICITY_LEG_ITEMS, start=1)
            ),
            (Measure.motricity_leg,),
            "Demeurisse G et al., Eur Neurol 1980;19:382-389; Collin & Wade 1990: 3 items "
            "weighted 0/9/14/19/25/33, leg score = sum + 1.",
            item_level=True,
        ),
        Instrument(
            InstrumentCode.wisci_ii,
            N_("Walking Index for Spinal Cord Injury II"),
            "WISCI II",
            (Item("level", N_("Level"), 0, 20, choices=tuple(range(21))),),
            (Measure.wisci_ii,),
            "Ditunno PL & Ditunno JF, Spinal Cord 2001;39:654-656: levels 0-20.",
        ),
    )
}


def _number(items: Mapping[str, object], item: Item) -> float | None:
    raw = items.get(item.key)
    if raw is None or raw == "":
        if item.required:
            raise ScoreError(
                N_("%(item)s (%(item_label)s) is missing; enter a value"),
                item.key,
                item=item.key,
                item_label=item.label,
            )
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ScoreError(
            N_("%(item)s must be a number, not %(raw)s"), item.key, item=item.key, raw=repr(raw)
        )
    try:
        value = float(raw)
    except ValueError:
        raise ScoreError(
            N_("%(item)s must be a number, not %(raw)s"), item.key, item=item.key, raw=repr(raw)
        ) from None
    if not math.isfinite(value):
        raise ScoreError(N_("%(item)s must be a finite number"), item.key, item=item.key)
    if item.choices:
        if value not in item.choices:
            allowed = ", ".join(str(c) for c in item.choices)
            raise ScoreError(
                N_("%(item)s (%(item_label)s) is %(value)s; it must be one of %(allowed)s"),
                item.key,
                item=item.key,
                item_label=item.label,
                value=f"{value:g}",
                allowed=allowed,
            )
        return value
    if value < 0 and item.unit == "s":
        raise ScoreError(
            N_("%(item)s (%(item_label)s) is %(value)s s; a time cannot be negative"),
            item.key,
            item=item.key,
            item_label=item.label,
            value=f"{value:g}",
        )
    if not item.low <= value <= item.high:
        with_unit = N_(
            "%(item)s (%(item_label)s) is %(value)s %(unit)s; it must lie between "
            "%(low)s and %(high)s %(unit)s"
        )
        without_unit = N_(
            "%(item)s (%(item_label)s) is %(value)s; it must lie between %(low)s and %(high)s"
        )
        raise ScoreError(
            with_unit if item.unit else without_unit,
            item.key,
            item=item.key,
            item_label=item.label,
            value=f"{value:g}",
            unit=item.unit,
            low=f"{item.low:g}",
            high=f"{item.high:g}",
        )
    return value


_ITEM_OF_MEASURE = {
    Measure.ten_mwt_comfortable_mps: "comfortable_time_s",
    Measure.ten_mwt_fast_mps: "fast_time_s",
}


def score(
    code: InstrumentCode, items: Mapping[str, object]
) -> tuple[dict[str, float], dict[Measure, float]]:
    """Check the items of one administration and compute its scores.

    Returns the cleaned items and the scores by measure; raises ScoreError naming the item.

    >>> score(InstrumentCode.ten_mwt, {"distance_m": 10, "comfortable_time_s": 12.5})[1]
    {<Measure.ten_mwt_comfortable_mps: 'ten_mwt_comfortable_mps'>: 0.8}
    """
    instrument = INSTRUMENTS[code]
    known = {item.key for item in instrument.items}
    unknown = sorted(set(items) - known)
    if unknown:
        raise ScoreError(
            N_("%(item)s is not an item of the %(instrument)s; its items are %(items)s"),
            unknown[0],
            item=unknown[0],
            instrument=instrument.abbreviation,
            items=", ".join(sorted(known)),
        )
    clean: dict[str, float] = {}
    for item in instrument.items:
        value = _number(items, item)
        if value is not None:
            clean[item.key] = value
    scores: dict[Measure, float]
    if code is InstrumentCode.ten_mwt:
        scores = {
            Measure.ten_mwt_comfortable_mps: round(
                clean["distance_m"] / clean["comfortable_time_s"], 3
            )
        }
        if "fast_time_s" in clean:
            scores[Measure.ten_mwt_fast_mps] = round(clean["distance_m"] / clean["fast_time_s"], 3)
    elif code is InstrumentCode.motricity_leg:
        total = sum(clean.values())
        # The +1 makes full strength 100 (3 x 33 + 1); a leg without any movement stays 0.
        scores = {Measure.motricity_leg: total + 1 if total > 0 else 0.0}
    else:
        scores = {instrument.measures[0]: sum(clean.values())}
    for measure, value in scores.items():
        spec = MEASURES[measure]
        if not spec.low <= value <= spec.high:
            raise ScoreError(
                N_(
                    "the %(measure_label)s comes out at %(value)s %(unit)s, outside "
                    "%(low)s-%(high)s %(unit)s: check the entries (times in seconds, distances "
                    "in metres)"
                ),
                _ITEM_OF_MEASURE.get(measure, instrument.items[0].key),
                measure_label=spec.label,
                value=f"{value:g}",
                unit=spec.unit,
                low=f"{spec.low:g}",
                high=f"{spec.high:g}",
            )
    return clean, scores


class Judgment(enum.StrEnum):
    """How a change compares with the population's MDC and MCID."""

    improved_beyond_mcid = "improved_beyond_mcid"
    improved = "improved"
    """Beyond measurement error, but below the MCID (or no MCID is published)."""
    within_error = "within_error"
    """Within the minimal detectable change: not a real change."""
    below_mcid = "below_mcid"
    """No MDC is published and the change is smaller than the MCID."""
    declined = "declined"
    not_judged = "not_judged"
    """No threshold is published for this measure in this population."""


def judge(measure: Measure, population: Population, baseline: float, value: float) -> Judgment:
    """Judge the change from ``baseline`` to ``value`` against the population's MDC and MCID.

    >>> judge(Measure.ten_mwt_comfortable_mps, Population.stroke_subacute, 0.30, 0.50)
    <Judgment.improved_beyond_mcid: 'improved_beyond_mcid'>
    >>> judge(Measure.ten_mwt_comfortable_mps, Population.stroke_subacute, 0.30, 0.33)
    <Judgment.within_error: 'within_error'>
    """
    spec = MEASURES[measure]
    threshold = spec.threshold_for(population)
    if threshold is None:
        return Judgment.not_judged
    gain = (value - baseline) if spec.higher_is_better else (baseline - value)
    mdc = threshold.mdc_at(baseline)
    mcid = threshold.mcid
    # Rounded to the measure's own precision so 0.46 - 0.30 counts as the 0.16 it reads as.
    gain = round(gain, spec.digits + 2)
    if mcid is not None and gain >= mcid:
        return Judgment.improved_beyond_mcid
    if mdc is not None:
        if gain >= mdc:
            return Judgment.improved
        if gain <= -mdc:
            return Judgment.declined
        return Judgment.within_error
    assert mcid is not None  # a threshold carries at least one of the two
    return Judgment.declined if gain <= -mcid else Judgment.below_mcid
