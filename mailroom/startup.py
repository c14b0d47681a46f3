"""Start-up without the cyclic garbage collector (issue 16: a worker or ``mailroom process`` ready in <= 2 s CPU).

A start imports some 900 modules and loads the models and rules: hundreds of thousands of objects that live as
long as the process, and next to no garbage. The collector, triggered every 700 allocations, walks the growing
heap again and again: about a tenth of a start's CPU here. :func:`without_gc` switches it off for such a block
(reference counting still frees everything at once) and restores it afterwards; nested blocks are fine.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc() -> Iterator[None]:
    """The block runs with the cyclic garbage collector off (as it was again afterwards)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def keep_start_up_objects() -> None:
    """Keep everything a long-running process made during its start out of every later collection (``gc.freeze``).

    Called once the start is over, before the process forks its pool: the collector never walks those objects
    again, in the parent or in a forked child, so a child's collections neither cost CPU for them nor write to
    (and thereby copy) the memory pages it shares with the parent. What is still garbage then stays in memory.
    """
    gc.freeze()
