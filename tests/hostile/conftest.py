"""Hostile-input tests reuse the measurement fixtures (open requests for the world's client).
Their fuzz and durability counts are printed at the end of the run by ``tests/conftest.py``."""

from __future__ import annotations

from measures.conftest import make_request  # noqa: F401  (fixture)
