"""Billing's place in the app order: it builds on care (charges come from attendance
through ``care/hooks.py``), directory (published fees) and scheduling, and no app below
imports it. Its arithmetic (money, codes, fees, ledger) imports no Django at all, so it
is tested with doctests and benchmarked alone."""

from __future__ import annotations

import ast
from pathlib import Path

import reverie

SRC = Path(reverie.__file__).resolve().parent
BELOW = {
    "lib",
    "core",
    "vault",
    "outbox",
    "accounts",
    "audit",
    "care",
    "measures",
    "messaging",
    "directory",
    "outcomes",
    "process",
    "fhir",
    "paperwork",
    "scheduling",
}
PURE = ("money.py", "codes.py", "fees.py", "ledger.py")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _apps(path: Path) -> set[str]:
    return {m.split(".")[1] for m in _imports(path) if m.startswith("reverie.") and "." in m}


def test_billing_imports_only_apps_below_it() -> None:
    wrong = {
        str(p.relative_to(SRC)): sorted(_apps(p) - BELOW - {"billing"})
        for p in (SRC / "billing").rglob("*.py")
        if _apps(p) - BELOW - {"billing"}
    }
    assert not wrong, f"billing imports apps above it: {wrong}"


def test_no_app_below_billing_imports_it() -> None:
    wrong = [
        str(p.relative_to(SRC))
        for app in BELOW
        for p in (SRC / app).rglob("*.py")
        if "billing" in _apps(p)
    ]
    assert not wrong, f"apps below billing import it: {wrong}"


def test_the_arithmetic_imports_no_django() -> None:
    for name in PURE:
        imported = _imports(SRC / "billing" / name)
        assert not any(m.split(".")[0] == "django" for m in imported), name
        assert _apps(SRC / "billing" / name) <= {"billing"}, name
