"""Psychodynamic process: session reflection, CCRT workbench, client journal, recurring themes."""
