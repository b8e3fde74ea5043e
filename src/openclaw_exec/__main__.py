"""``python -m openclaw_exec``: the ``openclaw-exec`` command line."""

from __future__ import annotations

import sys

from openclaw_exec.cli import main

sys.exit(main())
