"""Pure gait analytics (NumPy/SciPy only): events, strides, session metrics, safety flags."""

from exoshare.gait.analysis import RollingSummary, SessionSummary, analyse, analyse_rolling
from exoshare.gait.errors import GaitDataError, NoGaitChannels
from exoshare.gait.recording import Recording

__all__ = [
    "GaitDataError",
    "NoGaitChannels",
    "Recording",
    "RollingSummary",
    "SessionSummary",
    "analyse",
    "analyse_rolling",
]
