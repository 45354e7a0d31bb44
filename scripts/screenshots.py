"""Retake the screenshots in docs/screenshots/ that the README's gallery links to.

    python scripts/screenshots.py          (from the repository root, with .venv installed)
    python scripts/screenshots.py tests/browser/test_scheduling_walk.py   (only these)

It runs the browser walk of the demo practice (tests/browser/test_walk.py) with
REVERIE_SCREENSHOTS set, so the main pages of every role are written there at desktop
(1280x800) and phone (390x844) size, window-sized and reduced to 256 colours when Pillow is
installed. It then runs the browser tests of the day-to-day flows (booking, paperwork,
telehealth, messages: ``FLOWS``), whose ``shot(...)`` pictures go there too (full page),
for docs/scheduling.md, docs/paperwork.md, docs/messages.md and docs/clinical-record.md.
CI runs the same tests without the variable and writes only to test-artifacts/, so it never
rewrites the documentation. Needs Debian's /usr/bin/chromium, as the browser
tests do; the data is synthetic (the demo practice, or the flow tests' own world), seeded
afresh into a test database.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The browser tests whose screenshots illustrate the practice admins' docs of issue 16.
FLOWS = [
    "tests/browser/test_scheduling_walk.py",
    "tests/browser/test_paperwork.py",
    "tests/browser/test_telehealth.py",
    "tests/browser/test_messages.py",
]


def main(only: list[str]) -> int:
    target = ROOT / "docs" / "screenshots"
    os.environ["REVERIE_SCREENSHOTS"] = str(target)
    # Tests get a data directory of their own, never a real or demo database's.
    os.environ.setdefault("REVERIE_DATA_DIR", tempfile.mkdtemp(prefix="reverie-shots-"))
    sys.path.insert(0, str(ROOT / "src"))
    os.chdir(ROOT)
    import pytest

    tests = only or ["tests/browser/test_walk.py", *FLOWS]
    code = int(pytest.main(["-q", "-p", "no:xdist", *tests]))
    if code == 0:
        print(f"screenshots written to {target.relative_to(ROOT)}/")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
