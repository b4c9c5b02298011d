"""Server-process tests share tests/cli/server_process.py (a real ``pyketi serve``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from server_process import server_factory  # noqa: E402, F401 (fixture)
