"""The exceptions the gait engine raises when a recording cannot be analysed."""

from __future__ import annotations


class GaitDataError(ValueError):
    """A recording or signal cannot be analysed; the message names the channel and the problem.

    Subclasses ``ValueError`` so callers that only know the standard library can still catch it.

    >>> raise GaitDataError("knee_angle_left_deg: 12 NaN samples")
    Traceback (most recent call last):
    ...
    exoshare.gait.errors.GaitDataError: knee_angle_left_deg: 12 NaN samples
    """


class NoGaitChannels(GaitDataError):
    """The recording has none of the channel sets that any event detector can use."""
