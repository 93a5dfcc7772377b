"""Pure gait analytics (NumPy/SciPy only): events, strides, session metrics, safety flags.

Import from the modules (``exoshare.gait.analysis``, ``.recording``, ``.errors``, ``.channels``):
the package itself loads nothing, so a reader of channel names or recordings (the storage
process, the command line) does not pay for SciPy (~4 s on this 2-core host) until it analyses.
"""
