"""The append-only, hash-chained audit trail of every read and write of clinical data."""
