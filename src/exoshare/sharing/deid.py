"""De-identification core: generalisation hierarchies, k-anonymity with l-diversity and a
suppression limit, and ARX's prosecutor, journalist and marketer re-identification risks.

A pure library (no web, database or exoshare service imports). The generalisation search is
written here because the one Python framework that does it (ANJANA) pins pandas 2.2 and
pydantic 2.11, older than exoshare runs on; the achieved k and l of a released table are
measured with pyCANON, the library ANJANA itself checks with, so the search and the check are
independent. No Python library computes ARX's risk models, hence :func:`risk`.

Example, ARX's seven-row fixture (age, gender, ZIP code)::

    >>> rows = pd.DataFrame({"age": [34, 45, 66, 70, 34, 70, 45],
    ...     "gender": ["male", "female", "male", "female", "female", "male", "male"],
    ...     "zipcode": ["81667", "81675", "81925", "81931", "81931", "81931", "81931"]})
    >>> hierarchies = {"age": Hierarchy.of(lambda a: "<50" if a < 50 else ">=50"),
    ...     "gender": Hierarchy.of(),
    ...     "zipcode": Hierarchy.of(*(prefix_mask(keep) for keep in (4, 3, 2, 1)))}
    >>> table = anonymise(rows, hierarchies, PrivacyModel(k=2, suppression_limit=0.0))
    >>> round(risk(table.released, list(hierarchies)).prosecutor.average, 6)
    0.428571
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pycanon import anonymity

SUPPRESSED = "*"
"""What a suppressed or fully generalised value shows."""


class DeidentificationError(ValueError):
    """The data or the privacy model cannot be satisfied as asked (the message says why)."""


Generaliser = Callable[[Any], str]


@dataclass(frozen=True)
class Hierarchy:
    """The ways one quasi-identifier can be coarsened, from level 0 (the value as text) up to
    the last level, which must map every value to :data:`SUPPRESSED`."""

    levels: tuple[Generaliser, ...]

    @property
    def height(self) -> int:
        return len(self.levels) - 1

    def apply(self, value: Any, level: int) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return SUPPRESSED
        return self.levels[level](value)

    @classmethod
    def of(cls, *levels: Generaliser) -> Hierarchy:
        """A hierarchy from its coarsening levels; the identity and ``*`` are added at the ends."""
        return cls((str, *levels, lambda _value: SUPPRESSED))

    @classmethod
    def table(cls, mapping: Mapping[str, Sequence[str]]) -> Hierarchy:
        """A hierarchy given as ARX's CSV hierarchies are: each value with its coarser labels."""
        depths = {len(labels) for labels in mapping.values()}
        if len(depths) != 1:
            raise DeidentificationError(
                "every value of a hierarchy needs the same number of levels"
            )
        depth = depths.pop()

        def level(i: int) -> Generaliser:
            def generalise(value: Any) -> str:
                try:
                    return mapping[str(value)][i]
                except KeyError:
                    raise DeidentificationError(
                        f"value {value!r} is missing from the hierarchy; add it to the table"
                    ) from None

            return generalise

        return cls.of(*(level(i) for i in range(depth)))


def interval(width: float, unit: str = "") -> Generaliser:
    """Numbers into half-open bands of ``width`` (``40-49``, ``1.6-1.7 m``)."""

    def generalise(value: Any) -> str:
        low = (float(value) // width) * width
        high = low + width
        if float(width).is_integer():
            text = f"{int(low)}-{int(high) - 1}"
        else:
            text = f"{low:.2f}-{high:.2f}".replace(".00", "")
        return f"{text}{(' ' + unit) if unit else ''}"

    return generalise


def prefix_mask(keep: int) -> Generaliser:
    """Codes with all but the first ``keep`` characters masked (ZIP ``81667`` → ``816**``)."""

    def generalise(value: Any) -> str:
        text = str(value)
        return text[:keep] + "*" * max(len(text) - keep, 0)

    return generalise


# ------------------------------------------------------------------------------- anonymising


@dataclass(frozen=True)
class PrivacyModel:
    k: int = 5
    l_diversity: int = 1
    """Distinct values of each sensitive attribute every equivalence class must hold."""
    suppression_limit: float = 0.05
    """Share of records that may be removed whole to reach the model (0.05 = 5 %)."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise DeidentificationError(f"k must be at least 1, not {self.k}")
        if self.l_diversity < 1:
            raise DeidentificationError(f"l must be at least 1, not {self.l_diversity}")
        if not 0.0 <= self.suppression_limit < 1.0:
            raise DeidentificationError(
                f"the suppression limit is a share between 0 and 1, not {self.suppression_limit}"
            )


@dataclass
class Anonymised:
    """The result of :func:`anonymise`: the released rows and how they were reached."""

    released: pd.DataFrame
    levels: dict[str, int]
    suppressed_count: int
    k_achieved: int
    l_achieved: int | None
    nodes_checked: int
    kept_index: list[int] = field(default_factory=list)
    """Positions in the input of the released rows (the others were suppressed)."""


def _classes_ok(
    key: npt.NDArray[np.int64], sensitive: list[npt.NDArray[np.int64]], model: PrivacyModel
) -> tuple[npt.NDArray[np.bool_], int]:
    """Which rows sit in classes meeting k and l, and the discernibility of the released table
    (ARX's DM*: Σ|class|² over kept classes plus n per suppressed record)."""
    _, row_class, sizes = np.unique(key, return_inverse=True, return_counts=True)
    class_ok = sizes >= model.k
    if model.l_diversity > 1:
        for codes in sensitive:
            width = int(codes.max()) + 1
            pairs = np.unique(row_class * width + codes)
            distinct = np.bincount(pairs // width, minlength=len(sizes))
            class_ok &= distinct >= model.l_diversity
    ok = class_ok[row_class]
    n = len(key)
    suppressed = int(n - ok.sum())
    return ok, int((sizes[class_ok].astype(np.int64) ** 2).sum()) + suppressed * n


def anonymise(
    rows: pd.DataFrame,
    quasi_identifiers: Mapping[str, Hierarchy],
    model: PrivacyModel,
    sensitive: Sequence[str] = (),
) -> Anonymised:
    """Generalise the quasi-identifiers by their hierarchies to the node of the lattice that
    meets ``model`` with the least information loss (discernibility, then total level), and
    suppress the records of classes still too small or too uniform.

    Every node of the lattice is tried (ARX's optimal search does the same work with pruning);
    with six attributes of up to five levels that is at most a few thousand vectorised checks.
    """
    missing = [c for c in [*quasi_identifiers, *sensitive] if c not in rows.columns]
    if missing:
        raise DeidentificationError(f"the data has no column {missing[0]!r}")
    if rows.empty:
        raise DeidentificationError("there are no records to de-identify")
    rows = rows.reset_index(drop=True)
    names = list(quasi_identifiers)
    # Every level of every attribute, computed once.
    generalised = {
        name: [
            rows[name].map(lambda v, h=hierarchy, lv=level: h.apply(v, lv))
            for level in range(hierarchy.height + 1)
        ]
        for name, hierarchy in quasi_identifiers.items()
    }
    codes = {
        name: [pd.factorize(col)[0].astype(np.int64) for col in columns]
        for name, columns in generalised.items()
    }
    sensitive_codes = [pd.factorize(rows[c])[0].astype(np.int64) for c in sensitive]
    limit = int(model.suppression_limit * len(rows))
    best: tuple[tuple[int, int], tuple[int, ...], npt.NDArray[np.bool_]] | None = None
    checked = 0
    for node in itertools.product(*(range(h.height + 1) for h in quasi_identifiers.values())):
        checked += 1
        key = np.zeros(len(rows), dtype=np.int64)
        for name, level in zip(names, node, strict=True):
            column = codes[name][level]
            key = key * (int(column.max()) + 1) + column
            if int(key.max()) > 2**40:  # renumber the classes before the product can overflow
                key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        ok, loss = _classes_ok(key, sensitive_codes, model)
        if len(ok) - int(ok.sum()) > limit:
            continue
        score = (loss, sum(node))
        if best is None or score < best[0]:
            best = (score, node, ok)
    if best is None:
        raise DeidentificationError(
            f"no generalisation meets k={model.k}, l={model.l_diversity} within a suppression "
            f"limit of {model.suppression_limit:.0%}; lower k or l, raise the limit or add records"
        )
    _score, node, ok = best
    released = pd.DataFrame(
        {
            column: (
                generalised[column][node[names.index(column)]]
                if column in quasi_identifiers
                else rows[column]
            )
            for column in rows.columns
        }
    )[ok].reset_index(drop=True)
    k_achieved = anonymity.k_anonymity(released, names) if len(released) else 0
    l_achieved = (
        anonymity.l_diversity(released, names, list(sensitive))
        if sensitive and len(released)
        else None
    )
    return Anonymised(
        released=released,
        levels=dict(zip(names, node, strict=True)),
        suppressed_count=int(len(ok) - ok.sum()),
        k_achieved=int(k_achieved),
        l_achieved=None if l_achieved is None else int(l_achieved),
        nodes_checked=checked,
        kept_index=[int(i) for i in np.flatnonzero(ok)],
    )


# ------------------------------------------------------------------------------------ risk


@dataclass(frozen=True)
class RiskFigures:
    """One attacker model's risks: the highest and average record risk, and the share of
    records whose risk exceeds the threshold."""

    highest: float
    average: float
    records_at_risk: float


@dataclass(frozen=True)
class RiskReport:
    prosecutor: RiskFigures
    journalist: RiskFigures
    marketer: float
    """ARX reports the marketer model as one figure: the expected share re-identified."""
    threshold: float
    classes: int
    records: int


def risk(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    threshold: float = 0.2,
    population: pd.DataFrame | None = None,
) -> RiskReport:
    """Re-identification risks of ``released`` as ARX computes them from equivalence classes.

    Prosecutor (the attacker knows the person is in the data): a record's risk is 1/|class|;
    the average is classes/records. Journalist (the attacker links to a wider ``population``
    table holding the released records): a record's risk is 1/|its class in the population|;
    without a population the data is its own population and the two models coincide. Marketer
    (re-identify as many as possible): Σ over classes of |class in data|/|class in population|,
    divided by the records.
    """
    if len(released) == 0:
        raise DeidentificationError("no records are left to measure the risk of")
    if not 0.0 < threshold <= 1.0:
        raise DeidentificationError(f"the risk threshold is a share in (0, 1], not {threshold}")
    keys = [tuple(row) for row in released[list(quasi_identifiers)].astype(str).itertuples(False)]
    sample_sizes = Counter(keys)
    if population is None:
        population_sizes = sample_sizes
    else:
        population_sizes = Counter(
            tuple(row) for row in population[list(quasi_identifiers)].astype(str).itertuples(False)
        )
        absent = [key for key in sample_sizes if population_sizes[key] < sample_sizes[key]]
        if absent:
            raise DeidentificationError(
                f"the population holds fewer records than the data for class {absent[0]}; "
                "it must contain every released record"
            )
    n = len(keys)

    def figures(size_of: Mapping[tuple[str, ...], int]) -> RiskFigures:
        record_risks = [1.0 / size_of[key] for key in keys]
        return RiskFigures(
            highest=max(record_risks),
            average=sum(record_risks) / n,
            records_at_risk=sum(1 for r in record_risks if r > threshold) / n,
        )

    marketer = sum(size / population_sizes[key] for key, size in sample_sizes.items()) / n
    return RiskReport(
        prosecutor=figures(sample_sizes),
        journalist=figures(population_sizes),
        marketer=marketer,
        threshold=threshold,
        classes=len(sample_sizes),
        records=n,
    )


# ----------------------------------------------------------------- pseudonyms and date shifts


def pseudonym(secret: bytes, identifier: str, length: int = 16) -> str:
    """A keyed pseudonym (HMAC-SHA-256): stable within a project, unlinkable without its secret,
    never a bare hash an attacker could recompute from a record number."""
    if len(secret) < 16:
        raise DeidentificationError("a pseudonym secret needs at least 16 bytes")
    return hmac.new(secret, identifier.encode(), hashlib.sha256).hexdigest()[:length]


def date_shift_days(secret: bytes, identifier: str, max_days: int = 180) -> int:
    """The patient's own random offset in [-max_days, max_days], drawn from the project's
    secret: every date of one patient moves by the same amount, so intervals are kept."""
    digest = hmac.new(secret, b"date-shift:" + identifier.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (2 * max_days + 1) - max_days
