"""The measurement, JSON API and FHIR documents keep up with the code: every route, job and
FHIR interaction must be described."""

from __future__ import annotations

from pathlib import Path

from django.urls import get_resolver

from reverie.core import worker
from reverie.measures import openapi

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _names(namespace: str) -> list[str]:
    resolver = get_resolver()
    for entry in resolver.url_patterns:
        if getattr(entry, "namespace", None) == namespace:
            return [p.name for p in entry.url_patterns if getattr(p, "name", None)]
    return []


def test_every_measures_page_is_documented() -> None:
    text = (DOCS / "measurement.md").read_text()
    missing = [n for n in _names("measures") if f"`measures:{n}`" not in text]
    assert not missing, missing


def test_every_measurement_job_is_documented() -> None:
    text = (DOCS / "measurement.md").read_text()
    jobs = [name for name in worker.REGISTRY if name.startswith("measures.")]
    assert jobs and not [j for j in jobs if f"`{j}`" not in text]


def test_every_api_route_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    paths = [path.removeprefix("/api/v1/") for _, path in openapi.api_routes()]
    missing = [p for p in paths if f"`{p}`" not in text]
    assert not missing, missing


def test_every_fhir_interaction_is_documented() -> None:
    text = (DOCS / "fhir.md").read_text()
    for path in ("metadata", "Questionnaire", "QuestionnaireResponse", "Observation", "Patient"):
        assert f"/fhir/{path}" in text, path
    assert "$everything" in text and "Process (psychotherapy) notes are never included" in text
