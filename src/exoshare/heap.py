"""The garbage collector's settings for a long-lived server process."""

from __future__ import annotations

import gc

FULL_COLLECTION_AFTER = 1000
"""Generation-1 collections between two full ones in a server process (Python's default: 10)."""


def settle_heap() -> None:
    """Take what start-up built (modules, ORM mappers, templates, routes) out of the garbage
    collector's full collections, for a server process about to serve.

    Left in the oldest generation, those objects are walked again by every full collection:
    ~200 ms pauses every few seconds under live load (measured with 50 live sessions), each
    one a hitch in every live view. They live as long as the process, so there is nothing
    to collect among them. Call once per process, after the app is built (not in tests,
    which build many apps in one process).

    Full collections then still walk what serving keeps (connections, tasks, live sessions):
    ~100,000 objects and a 50–60 ms pause at 200 live sessions, every 3–4 s with the default
    thresholds. A full collection waits for ``FULL_COLLECTION_AFTER`` younger ones instead of
    10 (every few minutes under that load); young objects are still collected as often.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
