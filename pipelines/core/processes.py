"""Questions about other processes, asked by pid."""

from __future__ import annotations

import os


def exists(pid: int) -> bool:
    """A process with this pid exists (a zombie still does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    return True
