"""
Policy objects: the knobs, "the stricter wins", host resolution, verdicts, the file.

Pure core: no I/O, no clock. Disk access for the approvals file lives in
:mod:`openclaw_exec.adapters.filestore`.
"""

from __future__ import annotations

from openclaw_exec.policy._enums import Ask, Security

__all__ = ["Ask", "Security"]
