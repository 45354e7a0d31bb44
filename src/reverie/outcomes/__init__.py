"""Outcomes: change metrics, trajectories, practice evidence and reports."""
