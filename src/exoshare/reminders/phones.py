"""Phone numbers for text messages: the network's one rule (E.164, libphonenumber)."""

from __future__ import annotations

from exoshare.network.phones import to_e164

__all__ = ["to_e164"]
