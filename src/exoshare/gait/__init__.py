"""Pure gait analytics (NumPy/SciPy only): events, strides, session metrics, safety flags.

``exoshare.gait.analyse`` and the other names below load their module when first asked for:
a reader of channel names or recordings (the storage process, the command line) imports
``exoshare.gait.channels`` or ``.recording`` without paying for SciPy (~4 s on this 2-core host)
until it analyses.
"""

import importlib
from typing import Any

_MODULES = {
    "GaitDataError": "exoshare.gait.errors",
    "NoGaitChannels": "exoshare.gait.errors",
    "Recording": "exoshare.gait.recording",
    "RollingSummary": "exoshare.gait.analysis",
    "SessionSummary": "exoshare.gait.analysis",
    "analyse": "exoshare.gait.analysis",
    "analyse_rolling": "exoshare.gait.analysis",
}
"""Each public name and the module that holds it."""
__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'exoshare.gait' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
