"""Defaults that settings.py computes from the machine and the configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _web_workers(tmp_path: Path, **extra: str) -> int:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REVERIE_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        PYTHONPATH=str(SRC),
        DJANGO_SETTINGS_MODULE="reverie.settings",
        REVERIE_DATA_DIR=str(tmp_path),
        **extra,
    )
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.WEB_WORKERS)"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs the CPU affinity")
def test_web_workers_add_one_for_postgresql_waits(tmp_path: Path) -> None:
    # The child inherits this process's CPU affinity, so it sees the same cores.
    cores = max(2, len(os.sched_getaffinity(0)))
    assert _web_workers(tmp_path) == min(cores, 16)
    # Settings only read the address; nothing connects to it here.
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert _web_workers(tmp_path, REVERIE_DATABASE_URL=url) == min(cores + 1, 16)
    # An operator's own figure wins either way.
    assert _web_workers(tmp_path, REVERIE_DATABASE_URL=url, REVERIE_WEB_WORKERS="2") == 2
