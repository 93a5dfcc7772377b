"""The gait engine's low-pass filter is SciPy's zero-phase filter, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from exoshare.gait._signal import _butter_lowpass_sos, lowpass


@pytest.mark.parametrize("n", [1, 2, 16, 27, 1000, 3001])
@pytest.mark.parametrize("cutoff_hz", [6.0, 10.0, 20.0])
def test_lowpass_equals_scipy_sosfiltfilt_bit_for_bit(n: int, cutoff_hz: float) -> None:
    rng = np.random.default_rng(n)
    t = np.arange(n) / 100.0
    values = 40 * np.sin(2 * np.pi * t) + rng.normal(0, 5, n)
    sos = _butter_lowpass_sos(4, cutoff_hz, 100.0).copy()
    # lowpass pads as sosfiltfilt's default would (3 x taps), shortened for short signals.
    expected = signal.sosfiltfilt(sos, values, padlen=min(3 * (2 * len(sos) + 1), n - 1))
    filtered = lowpass(values, cutoff_hz, 100.0)
    assert filtered.shape == (n,)
    np.testing.assert_array_equal(filtered, expected)


def test_lowpass_above_nyquist_returns_the_signal_and_leaves_the_input_alone() -> None:
    values = np.array([1.0, 5.0, -2.0, 4.0])
    kept = values.copy()
    np.testing.assert_array_equal(lowpass(values, 60.0, 100.0), kept)
    lowpass(np.tile(values, 10), 6.0, 100.0)
    np.testing.assert_array_equal(values, kept)


def test_a_1_hz_sine_passes_a_6_hz_low_pass_and_a_30_hz_one_is_removed() -> None:
    t = np.arange(1000) / 100.0
    slow, fast = np.sin(2 * np.pi * t), np.sin(2 * np.pi * 30 * t)
    out = lowpass(slow + fast, 6.0, 100.0)
    assert np.abs(out - slow)[100:-100].max() < 0.01
