"""Data lifecycle: a client's complete record as one download, and retention review."""
