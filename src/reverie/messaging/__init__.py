"""Secure messages between a client and the therapists in their current care."""
