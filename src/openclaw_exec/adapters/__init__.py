"""
Adapters: everything that does I/O.

Nothing here is imported by the package's ``__init__``; import the adapter you use,
e.g. ``from openclaw_exec.adapters.filestore import ApprovalsStore``. Adapters whose
third-party dependency is optional live behind an extra (``[websocket]``, ``[redis]``).
"""

from __future__ import annotations

__all__: list[str] = []
