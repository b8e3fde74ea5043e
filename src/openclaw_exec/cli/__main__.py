"""``python -m openclaw_exec.cli``: the same as the ``openclaw-exec`` command."""

from __future__ import annotations

import sys

from openclaw_exec.cli._main import main

sys.exit(main())
