"""Gait event detection per leg: initial contact (IC), final contact (FC), mid-stance.

Two detectors with the gaitmap/tpcp shape (parameters in ``__init__``, one action returning
``self``, results in attributes ending in ``_``):

* :class:`GyroEventDetection` for a shank or foot gyroscope (medio-lateral angular rate);
* :class:`JointAngleEventDetection` for exoskeletons that only measure joint angles.

Both are vectorised (``scipy.signal.find_peaks`` plus array searches, no per-stride Python loop), so
their cost grows linearly with the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
from scipy import signal

from exoshare.gait._signal import check_signal, lowpass, segment_argmax, segment_argmin
from exoshare.gait.errors import GaitDataError


@dataclass(frozen=True)
class LegEvents:
    """Gait events of one leg, seconds from the first sample of the recording, each array ascending.

    ``ic_s`` initial contacts, ``fc_s`` final contacts (toe-off), ``swing_peak_s`` the mid-swing
    landmark each IC/FC pair was found around, ``min_vel_s`` mid-stance (empty if not detected).
    ``source`` names the signal the events came from, e.g. ``"foot_gyr_y_left_dps"``.
    """

    side: str
    ic_s: np.ndarray
    fc_s: np.ndarray
    swing_peak_s: np.ndarray
    min_vel_s: np.ndarray
    source: str


def _crossings(x: np.ndarray, falling: bool) -> np.ndarray:
    """Sub-sample times (in samples) where ``x`` crosses zero downwards (``falling``) or upwards."""
    a, b = x[:-1], x[1:]
    idx = np.flatnonzero((a > 0) & (b <= 0)) if falling else np.flatnonzero((a < 0) & (b >= 0))
    # Linear interpolation between the two samples around the crossing.
    return idx + a[idx] / (a[idx] - b[idx])


def _first_after(candidates: np.ndarray, anchors: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """First candidate > anchor and < limit for each anchor, NaN if none (candidates ascending)."""
    if candidates.size == 0:
        return np.full(anchors.size, np.nan)
    j = np.searchsorted(candidates, anchors, side="right")
    picked = candidates[np.clip(j, 0, candidates.size - 1)]
    ok = (j < candidates.size) & (picked < limits)
    return np.where(ok, picked, np.nan)


def _last_before(candidates: np.ndarray, anchors: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Last candidate < anchor and > limit for each anchor, NaN if none (candidates ascending)."""
    if candidates.size == 0:
        return np.full(anchors.size, np.nan)
    j = np.searchsorted(candidates, anchors, side="left") - 1
    picked = candidates[np.clip(j, 0, candidates.size - 1)]
    ok = (j >= 0) & (picked > limits)
    return np.where(ok, picked, np.nan)


def _neighbour_spacing(peaks: np.ndarray, fallback: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the previous and to the next peak (samples); the ends get ``fallback``."""
    gaps = np.diff(peaks).astype(np.float64)
    before = np.concatenate(([fallback], gaps))
    after = np.concatenate((gaps, [fallback]))
    return np.minimum(before, 2 * fallback), np.minimum(after, 2 * fallback)


class GyroEventDetection:
    """IC, FC and mid-stance from the medio-lateral angular rate of a foot or shank IMU.

    Method (after Salarian et al. 2004, IEEE TBME 51(8):1434-1443 for the shank and Rampp et al.
    2015, IEEE TBME 62(4):1089-1097 for the foot): the swing phase is the large positive peak of the
    swing-positive medio-lateral rate (found with ``find_peaks`` on a ``lowpass_cutoff_hz``
    zero-phase Butterworth low-pass). Around each swing peak:

    * **IC** (``ic_rule="zero_crossing"``, default): the first downward zero crossing after the
      swing peak, interpolated between samples. The segment stops rotating forward there, which
      is when the heel is placed; on the public foot-IMU reference (docs/validation.md) this sits
      within a few ms of motion-capture heel strike with about 5 ms SD. With ``ic_rule="minimum"``:
      the Salarian/Rampp definition, the minimum right after that crossing (the heel-strike
      impact), which lags motion capture by a few tens of ms and is noisier.
    * **FC**: the minimum of the rate in the half-stride before the swing peak (Salarian 2004;
      the push-off rotation of the segment peaks at toe-off).
    * **mid-stance** (``min_vel``): centre of the ``min_vel_window_s`` window with the least
      angular-rate energy between an IC and the next FC (Rampp 2015's ``min_vel``).

    Swing peaks must exceed ``min_swing_peak_dps`` and ``relative_swing_peak`` times the median
    swing peak of the recording, and be ``min_stride_time_s`` apart; this rejects the small
    rotations of standing and weight shifting while keeping slow, assisted steps.

    Units: input in deg/s, sampling rate in Hz, all results in seconds from the first sample.

    >>> fs = 100.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> rate = 200 * np.sin(2 * np.pi * t)  # one "stride" per second
    >>> det = GyroEventDetection().detect(rate, sampling_rate_hz=fs)
    >>> np.round(det.ic_s_[:3], 2)
    array([0.5, 1.5, 2.5])
    """

    def __init__(
        self,
        *,
        lowpass_cutoff_hz: float = 10.0,
        min_swing_peak_dps: float = 50.0,
        relative_swing_peak: float = 0.25,
        min_stride_time_s: float = 0.5,
        ic_rule: Literal["zero_crossing", "minimum"] = "zero_crossing",
        min_vel_window_s: float = 0.1,
    ) -> None:
        self.lowpass_cutoff_hz = lowpass_cutoff_hz
        self.min_swing_peak_dps = min_swing_peak_dps
        self.relative_swing_peak = relative_swing_peak
        self.min_stride_time_s = min_stride_time_s
        self.ic_rule = ic_rule
        self.min_vel_window_s = min_vel_window_s

    def detect(
        self,
        ml_rate_dps: np.ndarray,
        *,
        sampling_rate_hz: float,
        gyr_norm_dps: np.ndarray | None = None,
        side: str = "left",
        source: str = "ml_rate_dps",
    ) -> Self:
        """Detect events in ``ml_rate_dps`` (swing-positive medio-lateral rate, deg/s).

        ``gyr_norm_dps`` (norm of the 3-axis rate, deg/s), if given, is used for mid-stance; else
        the absolute medio-lateral rate is. Sets ``ic_s_``, ``fc_s_``, ``swing_peak_s_``,
        ``min_vel_s_`` (seconds) and ``events_`` (a :class:`LegEvents`).
        """
        if self.ic_rule not in ("zero_crossing", "minimum"):
            raise ValueError(f"ic_rule must be 'zero_crossing' or 'minimum', got {self.ic_rule!r}")
        fs = float(sampling_rate_hz)
        min_samples = int(np.ceil(2 * self.min_stride_time_s * fs))
        raw = check_signal(ml_rate_dps, source, min_samples=max(min_samples, 16))
        x = lowpass(raw, self.lowpass_cutoff_hz, fs)

        peaks, props = signal.find_peaks(
            x,
            height=self.min_swing_peak_dps,
            prominence=self.min_swing_peak_dps,
            distance=max(1, int(self.min_stride_time_s * fs)),
        )
        if peaks.size:
            heights = props["peak_heights"]
            peaks = peaks[heights >= self.relative_swing_peak * np.median(heights)]
        empty = np.empty(0)
        if peaks.size == 0:
            self._set(empty, empty, empty, empty, side, source)
            return self

        typical = float(np.median(np.diff(peaks))) if peaks.size > 1 else 1.0 * fs
        gap_before, gap_after = _neighbour_spacing(peaks, typical)
        # IC lies in terminal swing, FC in pre-swing: each within half a stride of its swing peak,
        # so neither can be taken from the neighbouring stride.
        ic = _first_after(_crossings(x, falling=True), peaks, peaks + 0.5 * gap_after)
        if self.ic_rule == "minimum":
            ok = np.isfinite(ic)
            starts = np.ceil(ic[ok]).astype(np.int64)
            ends = np.minimum(starts + max(2, int(0.2 * fs)), x.size)
            ic[ok] = segment_argmin(x, starts, ends).astype(np.float64)
        fc_start = np.maximum(np.floor(peaks - 0.5 * gap_before), 0).astype(np.int64)
        fc = segment_argmin(x, fc_start, peaks + 1).astype(np.float64)
        # An FC at the window's first sample is a truncated search, not a minimum.
        fc[(fc <= fc_start) & (fc_start > 0)] = np.nan

        ic = ic[np.isfinite(ic)]
        fc = fc[np.isfinite(fc)]
        min_vel = self._mid_stance(x if gyr_norm_dps is None else gyr_norm_dps, ic, fc, fs)
        self._set(ic / fs, fc / fs, peaks / fs, min_vel / fs, side, source)
        return self

    def _mid_stance(
        self, rate: np.ndarray, ic: np.ndarray, fc: np.ndarray, fs: float
    ) -> np.ndarray:
        energy = np.asarray(rate, dtype=np.float64) ** 2
        win = max(1, round(self.min_vel_window_s * fs))
        # Moving sum via cumulative sum: O(n) whatever the window.
        csum = np.concatenate(([0.0], np.cumsum(energy)))
        moving = csum[win:] - csum[:-win]
        if ic.size == 0 or fc.size == 0 or moving.size == 0:
            return np.empty(0)
        next_fc = _first_after(fc, ic, np.full(ic.size, np.inf))
        ok = np.isfinite(next_fc)
        starts = np.ceil(ic[ok]).astype(np.int64)
        ends = np.minimum(np.floor(next_fc[ok]).astype(np.int64) - win + 1, moving.size)
        good = ends > starts
        idx = segment_argmin(moving, starts[good], ends[good])
        return (idx + win // 2).astype(np.float64)

    def _set(
        self,
        ic: np.ndarray,
        fc: np.ndarray,
        peaks: np.ndarray,
        min_vel: np.ndarray,
        side: str,
        source: str,
    ) -> None:
        self.ic_s_ = ic
        self.fc_s_ = fc
        self.swing_peak_s_ = peaks
        self.min_vel_s_ = min_vel
        self.events_ = LegEvents(side, ic, fc, peaks, min_vel, source)


class JointAngleEventDetection:
    """IC and FC from the knee (preferred) or hip flexion angle, for exoskeletons without an IMU.

    Method, per leg, on a ``lowpass_cutoff_hz`` zero-phase low-pass of the angle (degrees, flexion
    positive as in the channel registry):

    * **knee** (``joint="knee"``): the swing phase is the knee-flexion peak (about 60 deg at 70-75 %
      of the cycle in unimpaired gait, Perry & Burnfield 2010, *Gait Analysis*, 2nd ed., ch. 8).
      **IC** is the knee-extension minimum of terminal swing that follows it: the knee reaches its
      swing extension just before heel contact. **FC** is the instant of maximal knee-flexion
      velocity in the half-stride before the swing peak: toe-off occurs during rapid pre-swing
      knee flexion, and the flexion velocity peaks close to toe-off (Perry & Burnfield 2010;
      Goldberg et al. 2003, J Biomech 36(8):1111-1116).
    * **hip** (``joint="hip"``, hip-only devices): **IC** is the peak hip flexion of late swing,
      the landmark hip-exoskeleton controllers use for heel strike (e.g. Ronsse et al. 2011,
      IEEE TNSRE 19(6) "Oscillator-based assistance"; Lewis & Ferris 2011, J Biomech 44(5));
      **FC** is the maximal hip extension before it, which precedes toe-off by roughly 5-10 % of
      the cycle in unimpaired gait (Perry & Burnfield 2010), so stance times from the hip are
      biased short; the summary names the source so this can be accounted for.

    Swing peaks must be ``min_peak_prominence_deg`` prominent and ``min_stride_time_s`` apart.
    Results are seconds from the first sample.

    >>> fs = 100.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> hip = 10 + 20 * np.cos(2 * np.pi * (t - 0.85))  # peak flexion at 0.85 s of each 1 s cycle
    >>> det = JointAngleEventDetection(joint="hip").detect(hip, sampling_rate_hz=fs)
    >>> np.round(det.ic_s_[:2], 2)
    array([0.85, 1.85])
    """

    def __init__(
        self,
        *,
        joint: Literal["knee", "hip"] = "knee",
        lowpass_cutoff_hz: float = 6.0,
        min_peak_prominence_deg: float = 10.0,
        min_stride_time_s: float = 0.6,
    ) -> None:
        self.joint = joint
        self.lowpass_cutoff_hz = lowpass_cutoff_hz
        self.min_peak_prominence_deg = min_peak_prominence_deg
        self.min_stride_time_s = min_stride_time_s

    def detect(
        self,
        angle_deg: np.ndarray,
        *,
        sampling_rate_hz: float,
        side: str = "left",
        source: str = "angle_deg",
    ) -> Self:
        """Detect events in a knee or hip flexion angle (deg); sets ``ic_s_``, ``fc_s_``."""
        if self.joint not in ("knee", "hip"):
            raise ValueError(f"joint must be 'knee' or 'hip', got {self.joint!r}")
        fs = float(sampling_rate_hz)
        min_samples = int(np.ceil(2 * self.min_stride_time_s * fs))
        x = lowpass(
            check_signal(angle_deg, source, min_samples=max(min_samples, 16)),
            self.lowpass_cutoff_hz,
            fs,
        )
        distance = max(1, int(self.min_stride_time_s * fs))
        empty = np.empty(0)
        # Knee: the swing flexion peak; hip: the late-swing flexion maximum, which is the IC itself.
        peaks, _ = signal.find_peaks(x, prominence=self.min_peak_prominence_deg, distance=distance)
        if peaks.size == 0:
            self._set(empty, empty, empty, side, source)
            return self
        typical = float(np.median(np.diff(peaks))) if peaks.size > 1 else 1.0 * fs
        gap_before, gap_after = _neighbour_spacing(peaks, typical)
        n = x.size
        if self.joint == "knee":
            ic_end = np.minimum(np.ceil(peaks + 0.5 * gap_after).astype(np.int64), n)
            ic = segment_argmin(x, peaks, ic_end).astype(np.float64)
            ic[ic >= ic_end - 1] = np.nan  # still extending at the window end: no IC seen
            velocity = np.gradient(x)
            fc_start = np.maximum(np.floor(peaks - 0.5 * gap_before), 0).astype(np.int64)
            fc = segment_argmax(velocity, fc_start, peaks + 1).astype(np.float64)
        else:
            ic = peaks.astype(np.float64)
            fc_start = np.maximum(np.floor(peaks - 0.7 * gap_before), 0).astype(np.int64)
            fc = segment_argmin(x, fc_start, peaks + 1).astype(np.float64)
            fc[(fc <= fc_start) & (fc_start > 0)] = np.nan
        ic = ic[np.isfinite(ic)]
        fc = fc[np.isfinite(fc)]
        self._set(ic / fs, fc / fs, peaks / fs, side, source)
        return self

    def _set(
        self, ic: np.ndarray, fc: np.ndarray, peaks: np.ndarray, side: str, source: str
    ) -> None:
        self.ic_s_ = ic
        self.fc_s_ = fc
        self.swing_peak_s_ = peaks
        self.min_vel_s_ = np.empty(0)
        self.events_ = LegEvents(side, ic, fc, peaks, self.min_vel_s_, source)


def require_events(events: LegEvents, min_ic: int = 2) -> None:
    """Raise :class:`GaitDataError` if a leg has fewer than ``min_ic`` initial contacts."""
    if events.ic_s.size < min_ic:
        raise GaitDataError(
            f"{events.source}: found {events.ic_s.size} initial contacts, at least {min_ic} are "
            "needed for one stride (is the person walking, and is the channel the right one?)"
        )
