"""Pure gait analytics (NumPy/SciPy only): events, strides, session metrics, safety flags."""
