"""The process's memory around a build (catalog/search/memory.py): the garbage collector paused, then the objects
made meanwhile moved to the oldest generation without a collection walking them."""

from __future__ import annotations

import gc

from catalog.search.memory import gc_paused


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


def test_objects_made_while_paused_join_the_oldest_generation() -> None:
    assert gc.get_freeze_count() == 0
    enabled = gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        made = [[n] for n in range(1_000)]
    assert gc.isenabled() == enabled
    assert _in_generation(made, 2) and _in_generation(made[-1], 2)
    assert gc.get_freeze_count() == 0  # (nothing left frozen)


def test_objects_frozen_before_stay_frozen() -> None:
    # `ocop-bot run` freezes what it built at start-up: a pause afterwards must not unfreeze it.
    assert gc.get_freeze_count() == 0
    kept = [[n] for n in range(100)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            made = [[n] for n in range(100)]
        assert gc.get_freeze_count() == frozen
        assert not _in_generation(kept, 0) and not _in_generation(kept, 1) and not _in_generation(kept, 2)
        assert any(_in_generation(made, g) for g in (0, 1, 2))  # (not frozen: collected as usual)
    finally:
        gc.unfreeze()
