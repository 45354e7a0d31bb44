"""Reverie: a self-hosted platform for psychodynamic psychotherapy practices."""
