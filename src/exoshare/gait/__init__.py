"""Pure gait analytics (NumPy/SciPy only): events, strides, session metrics, safety flags."""

from exoshare.gait.analysis import SessionSummary, analyse
from exoshare.gait.errors import GaitDataError, NoGaitChannels
from exoshare.gait.recording import Recording

__all__ = ["GaitDataError", "NoGaitChannels", "Recording", "SessionSummary", "analyse"]
