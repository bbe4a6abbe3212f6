"""A per-client rate limit: at most so many hits in any sliding window of time.

Shared by the intake paths that take input from outside (web forms now; the
mail gateway's per-sender limit later).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most ``limit`` hits per client in any ``window``; thread-safe."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()
        self._prune_at = 1024

    def reserve(self, client: str, now: datetime) -> bool:
        """Take one of ``client``'s hits at ``now``; ``False`` when none is left."""
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            cutoff = now - self.window
            while hits and hits[0] <= cutoff:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) >= self._prune_at:
                self._hits = {c: h for c, h in self._hits.items() if h and h[-1] > cutoff}
                self._prune_at = max(1024, 2 * len(self._hits))
            return True

    def release(self, client: str, when: datetime) -> None:
        """Give back the hit taken at ``when`` (the input was refused for another reason)."""
        with self._lock:
            hits = self._hits.get(client)
            if hits is not None and when in hits:
                hits.remove(when)
