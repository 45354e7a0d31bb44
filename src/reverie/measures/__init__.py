"""Measurement: instruments as data, administrations, the client portal and crisis handling."""
