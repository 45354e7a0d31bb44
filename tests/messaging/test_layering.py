"""Messaging's place in the app order (docs/development.md): it imports only apps below
it, and none of those imports it (care reaches it only through ``care/hooks.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import reverie

SRC = Path(reverie.__file__).resolve().parent
BELOW = {"lib", "core", "vault", "outbox", "accounts", "audit", "care", "measures"}


def _imported_apps(app: str) -> dict[str, set[str]]:
    """``{file: {reverie app it imports}}`` for every module of ``app``."""
    found: dict[str, set[str]] = {}
    for path in (SRC / app).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            for module in modules:
                parts = module.split(".")
                if parts[0] == "reverie" and len(parts) > 1:
                    names.add(parts[1])
        found[str(path.relative_to(SRC))] = names
    return found


def test_messaging_imports_only_apps_below_it() -> None:
    wrong = {
        file: sorted(apps - BELOW - {"messaging"})
        for file, apps in _imported_apps("messaging").items()
        if apps - BELOW - {"messaging"}
    }
    assert not wrong, f"messaging imports apps above it: {wrong}"


def test_no_app_below_messaging_imports_it() -> None:
    wrong = [
        file
        for app in BELOW
        if (SRC / app).is_dir()
        for file, apps in _imported_apps(app).items()
        if "messaging" in apps
    ]
    assert not wrong, f"apps below messaging import it: {wrong}"
