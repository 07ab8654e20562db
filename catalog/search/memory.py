"""The process's memory around a build or a load of the index: millions of small objects made at once."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: building, loading or reading a national catalogue makes millions of
    objects, none of them garbage, and each collection walks all the objects alive (a fifth of a build, half of
    a stored index's load, a quarter of reading the products from the database). Nests; restores the state.

    On the way out, what was made inside joins the oldest generation at once (frozen and unfrozen: moving lists,
    not walking them), which otherwise the first collections after would walk, the youngest generation's once
    it is enabled again (≈0.5 s after a build at 100,000 products), the middle one's next. Not where objects are
    frozen already (`ocop-bot run` freezes its start-up): unfreezing would take them out of the frozen ones."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def release_memory() -> None:
    """Give the memory freed after a build back to the system (glibc keeps it otherwise: ≈90 MB at 100,000
    products, the analysed texts and the postings' outgrown tables). Elsewhere, nothing to do."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)
