"""Shared signal helpers of the gait engine: input checks, filters, arg-extrema."""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal
from scipy.signal._arraytools import odd_ext

try:
    # SciPy's compiled second-order-sections filter, as sosfilt calls it (in place, rows of x).
    from scipy.signal._sosfilt import _sosfilt
except ImportError:  # another SciPy layout: lowpass falls back to sosfiltfilt itself
    _sosfilt = None

from exoshare.gait.errors import GaitDataError


def check_signal(values: np.ndarray, name: str, *, min_samples: int = 1) -> np.ndarray:
    """Return ``values`` as a 1-D float array or raise :class:`GaitDataError` naming ``name``.

    NaN and infinite samples are refused rather than interpolated: a gap in a device stream is a
    transport fault the caller must see, and silently bridging it would invent strides.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise GaitDataError(f"{name}: expected a 1-D signal, got shape {arr.shape}")
    if arr.size == 0:
        raise GaitDataError(f"{name}: the signal is empty")
    if arr.size < min_samples:
        raise GaitDataError(
            f"{name}: {arr.size} samples is too short, at least {min_samples} are needed"
        )
    n_bad = int(np.count_nonzero(~np.isfinite(arr)))
    if n_bad:
        raise GaitDataError(f"{name}: {n_bad} of {arr.size} samples are NaN or infinite")
    return arr


def lowpass(
    values: np.ndarray, cutoff_hz: float, sampling_rate_hz: float, order: int = 4
) -> np.ndarray:
    """Zero-phase Butterworth low-pass (``scipy.signal.butter`` + ``sosfiltfilt``).

    Zero phase matters: a causal filter would delay every detected event by the group delay.
    Second-order sections keep the filter stable at low normalised cut-offs.
    """
    nyquist_hz = sampling_rate_hz / 2.0
    if cutoff_hz >= nyquist_hz:
        return np.asarray(values, dtype=np.float64)
    sos = _butter_lowpass_sos(order, float(cutoff_hz), float(sampling_rate_hz))
    x = np.asarray(values, dtype=np.float64)
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    if _sosfilt is None or x.ndim != 1:
        return np.asarray(signal.sosfiltfilt(sos.copy(), x, padlen=padlen))
    return _sosfiltfilt_odd(
        *_sos_and_zi(order, float(cutoff_hz), float(sampling_rate_hz)), x, padlen
    )


def _sosfiltfilt_odd(sos: np.ndarray, zi: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, padlen=padlen)`` (odd padding) of a 1-D float64 signal,
    the same steps on the same numbers, so the same result to the bit (a test compares them),
    without what SciPy redoes on every call: ``sosfilt_zi`` (half of a live window's filtering
    time, the same for every call with one design), input validation, axis moves.
    """
    ext = odd_ext(x, padlen) if padlen > 0 else x
    forward = np.array(ext, np.float64, order="C").reshape(1, -1)  # filtered in place
    state = np.ascontiguousarray((zi * ext[0:1]).reshape(1, -1, 2))
    _sosfilt(sos, forward, state)
    backward = np.array(forward[0, ::-1], np.float64, order="C").reshape(1, -1)
    state = np.ascontiguousarray((zi * forward[0, -1:]).reshape(1, -1, 2))
    _sosfilt(sos, backward, state)
    y = backward[0, ::-1]
    return y[padlen:-padlen] if padlen > 0 else y


@functools.lru_cache(maxsize=64)
def _sos_and_zi(
    order: int, cutoff_hz: float, sampling_rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """The design and its ``sosfilt_zi`` (the filter's steady state for a unit step input),
    private to :func:`lowpass`: the compiled filter wants a writable design, and reads it only."""
    sos = _butter_lowpass_sos(order, cutoff_hz, sampling_rate_hz).copy()
    return sos, np.asarray(signal.sosfilt_zi(sos))


@functools.lru_cache(maxsize=64)
def _butter_lowpass_sos(order: int, cutoff_hz: float, sampling_rate_hz: float) -> np.ndarray:
    """The filter design, once per (order, cut-off, rate): designing costs more than filtering
    a 10 s window, and a live session filters the same design every few seconds."""
    sos = np.asarray(
        signal.butter(order, cutoff_hz, btype="low", fs=sampling_rate_hz, output="sos")
    )
    sos.setflags(write=False)  # shared: callers filter with a copy
    return sos


def segment_argmin(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Index of the minimum of ``values[starts[i]:ends[i]]`` for every i, without a Python loop.

    Segments must be non-empty (``ends > starts``) and lie inside ``values``; they may overlap.
    Returns absolute indices (int64). Cost is O(total segment length).
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if starts.size == 0:
        return np.empty(0, dtype=np.int64)
    lengths = ends - starts
    if np.any(lengths <= 0):
        raise ValueError("segment_argmin needs non-empty segments")
    # Gather all segment samples into one flat array so that overlapping segments are allowed.
    seg_id = np.repeat(np.arange(starts.size), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = values[starts[seg_id] + offsets]
    seg_min = np.minimum.reduceat(flat, np.cumsum(lengths) - lengths)
    is_min = flat == seg_min[seg_id]
    first = np.flatnonzero(is_min)
    _, first_per_segment = np.unique(seg_id[first], return_index=True)
    return starts + offsets[first[first_per_segment]]


def segment_argmax(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Index of the maximum of ``values[starts[i]:ends[i]]`` (see :func:`segment_argmin`)."""
    return segment_argmin(-np.asarray(values), starts, ends)


def runs_above(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) sample indices of every run of ``True`` in ``mask``."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]
