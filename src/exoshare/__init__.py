"""exoshare: a shared platform for robotic gait rehabilitation networks."""

__version__ = "0.1.0"
