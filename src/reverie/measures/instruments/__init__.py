"""Instrument definitions shipped with Reverie, one JSON file per instrument.

The files are data, not code: :func:`reverie.measures.definitions.load_shipped` reads and
validates every ``*.json`` file in this package. The format is described in
``docs/instruments.md``.
"""
