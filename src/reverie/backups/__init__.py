"""Backup and restore of a Reverie installation (docs/operations.md, "Backup and restore")."""
