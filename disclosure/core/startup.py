"""What a serving process does once, after Django is set up and before its
first request.

``freeze_startup_heap`` imports everything a request reaches (every URL
module, and through them every view, serializer and form) and moves every
object alive then to the collector's permanent generation (``gc.freeze``):
the modules, classes and settings of a process live as long as it does, and
a full collection no longer walks them. Without it, a request that allocates
enough to trigger one pays to scan the whole start-up heap, which made the
API's time per request vary by a tenth from process to process (bench/api.py).
"""

import gc

from django.urls import get_resolver


def freeze_startup_heap() -> int:
    """Import what serving reaches, collect start-up garbage, then freeze
    what is left. Returns the number of objects frozen. Idempotent."""
    get_resolver().reverse_dict  # noqa: B018 - imports every URL module and view, builds reverse()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
