"""Hostile-input tests reuse the measurement fixtures (open requests for the world's client)."""

from measures.conftest import make_request  # noqa: F401  (fixture)
