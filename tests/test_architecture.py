"""The architecture, executable: which room may use which, what stays pure, who writes.

The rules (docs/architecture.md draws them):

1. **Layers.** Every module of ``reverie`` belongs to one room of :data:`ROOMS` (the longest
   matching prefix). A module may import from its own room or from a room of a lower layer,
   never from a higher layer or from another room of its own layer. Imports inside functions
   and under ``TYPE_CHECKING`` count: an import hidden in a function is still an arrow.
2. **Pure modules** (:data:`PURE`) import nothing from Django and nothing from ``reverie``
   outside the pure set, so they can be read, tested and reused without a database.
3. **Views write through actions.** No view or API module (:func:`is_view_module`) calls a
   writing method of the ORM (``.save()``, ``.create()``, ``.update()``, ``.delete()`` and
   their bulk forms); writes go through the app's ``actions`` layer, which audits them.
4. **Only the outbox sends mail.** Only ``reverie.outbox`` imports ``django.core.mail``,
   ``smtplib`` or ``email.mime``; every other app queues through ``reverie.outbox.queue``.

Each check stops at its first violation and says where the thing belongs. The tests at the
bottom feed each check a synthetic violation and read its message (the test of the test).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import reverie

PACKAGE = Path(reverie.__file__).parent


# -- 1. Layers ----------------------------------------------------------------------------------

#: ``(module prefix, layer, what the room holds)``, lowest layer first. A module's room is the
#: longest prefix that matches it. Rooms of the same layer are siblings: neither may use the
#: other. Why each room sits where it does is in docs/architecture.md ("The order").
ROOMS: tuple[tuple[str, int, str], ...] = (
    ("reverie.lib", 0, "pure helpers: dates, ids, hash chain, safe JSON, PDF setup"),
    ("reverie.vault", 1, "encryption at rest: per-client and practice keys, sealed fields"),
    ("reverie.accounts.models", 2, "identity: the user model, practices, roles, API tokens"),
    ("reverie.core", 3, "web plumbing: role gates, JSON API, middleware, worker, row SQL"),
    ("reverie.outbox", 4, "the only mail sender: queue, sealing, delivery"),
    ("reverie.audit", 5, "the hash-chained audit trail and its pages"),
    ("reverie.accounts", 6, "sign-in, invitations, tokens and the admin's account pages"),
    ("reverie.care", 7, "the clinical record: clients, episodes, sessions, notes, alerts"),
    ("reverie.measures", 8, "questionnaires: definitions, scoring, schedules, submissions"),
    ("reverie.outcomes", 9, "statistics on scores: change, trajectories, practice outcomes"),
    ("reverie.process", 9, "the psychodynamic process: process notes, CCRT, journal, themes"),
    ("reverie.fhir", 9, "the FHIR R4 API over the record and the questionnaires"),
    ("reverie.messaging", 9, "secure messages between client and therapist"),
    ("reverie.directory", 10, "the front door: therapist directory, self-check, matching"),
    ("reverie.overview", 11, "the practice overview page"),
    ("reverie.paperwork", 11, "forms to sign and documents"),
    ("reverie.scheduling", 11, "bookings, openings, waitlist, agenda"),
    ("reverie.billing", 12, "fees, charges, payments, statements, superbills"),
    ("reverie.lifecycle", 13, "exports, archives, retention review, erasure"),
    ("reverie.backups", 14, "snapshots and restore of everything"),
    ("reverie.demo", 15, "the synthetic demo practice"),
    ("reverie", 16, "the package itself"),
    ("reverie.testing", 16, "fixtures for the tests"),
    ("reverie.settings", 16, "Django settings"),
    ("reverie.urls", 16, "the URL map"),
    ("reverie.wsgi", 16, "the WSGI entry"),
    ("reverie.cli", 16, "the ``reverie`` command"),
    ("reverie.__main__", 17, "``python -m reverie``"),
)

#: Arrows that break the order today, each with the reason it is tolerated and where the
#: code belongs. Keep this short; an entry is a debt, not a permission.
KNOWN: dict[tuple[str, str], str] = {
    # The keys command re-encrypts every practice-key token, including paperwork's files;
    # belongs in a rotation module above paperwork (the `keys` command's own app).
    ("reverie.vault.practice_tokens", "reverie.paperwork.storage"): "key rotation",
    # `reverie serve` hands the WSGI application to the server it starts: the entry point
    # is the one module allowed to load the whole site.
    ("reverie.core.management.commands.serve", "reverie.wsgi"): "serve starts the site",
}


def room_of(module: str) -> tuple[str, int]:
    """The room (prefix) and layer of a dotted module name.

    >>> room_of("reverie.accounts.models")
    ('reverie.accounts.models', 2)
    >>> room_of("reverie.accounts.views")
    ('reverie.accounts', 6)
    >>> room_of("reverie.care.actions.sessions")
    ('reverie.care', 7)
    """
    best: tuple[str, int] | None = None
    for prefix, layer, _ in ROOMS:
        if prefix == "reverie" and module != prefix:
            continue  # the package's own __init__ only, never a catch-all
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    if best is None:
        raise LookupError(f"{module} is in no room of ROOMS: add it, with its layer and why")
    return best


def first(problems: Iterable[str]) -> str | None:
    """The first violation, or None: each check stops at the first."""
    return next(iter(problems), None)


def rooms_of_layer(layer: int) -> list[str]:
    return [prefix for prefix, n, _ in ROOMS if n == layer]


@dataclass(frozen=True)
class Source:
    """One module's text and where it is."""

    module: str
    path: str
    text: str


def package_sources(package: Path = PACKAGE, name: str = "reverie") -> Iterator[Source]:
    """Every module of the package except migrations (Django writes those)."""
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if "migrations" in rel.parts:
            continue
        parts = [name, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield Source(".".join(parts), f"{name}/{rel}", path.read_text())


def imports(source: Source) -> Iterator[tuple[int, str]]:
    """``(line, imported name)`` for every import in the module, at any depth.

    ``from reverie.care import access`` yields ``reverie.care.access``; relative imports are
    resolved against the module's package."""
    tree = ast.parse(source.text, filename=source.path)
    package = source.module.split(".")
    if not source.path.endswith("__init__.py"):
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def arrows(source: Source, modules: set[str]) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for each import of a module of ours, once per line and module.

    ``from reverie.care.models import Client`` is an arrow to ``reverie.care.models``;
    ``from reverie.care import access`` one to ``reverie.care.access``."""
    seen: set[tuple[int, str]] = set()
    for line, name in imports(source):
        target = name
        while target not in modules and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in modules and (line, target) not in seen:
            seen.add((line, target))
            yield line, target


def layer_violations(sources: Iterable[Source]) -> Iterator[str]:
    """Every import that goes against the order, said in words."""
    sources = list(sources)
    modules = {s.module for s in sources}
    for source in sources:
        here, layer = room_of(source.module)
        for line, target in arrows(source, modules):
            there, target_layer = room_of(target)
            if there == here or target_layer < layer:
                continue
            if (source.module, target) in KNOWN:
                continue
            higher = [p for p, n, _ in ROOMS if n > target_layer]
            yield (
                f"{source.path}:{line}: {source.module} (room {here}, layer {layer}) imports "
                f"{target} (room {there}, layer {target_layer}). A room may only use rooms of "
                f"lower layers. The code that needs {there} belongs in {there} or a room above "
                f"it ({', '.join(higher[:3])}, ...); or what it needs belongs in {here} or "
                f"below (layer < {layer})."
            )


def test_layers() -> None:
    problem = first(layer_violations(package_sources()))
    assert problem is None, problem


def test_every_room_exists_and_every_module_has_a_room() -> None:
    for prefix, _, _ in ROOMS:
        path = PACKAGE.parent.joinpath(*prefix.split("."))
        assert path.is_dir() or path.with_suffix(".py").is_file(), f"{prefix} no longer exists"
    for source in package_sources():
        room_of(source.module)


def test_known_exceptions_still_exist() -> None:
    """A tolerated arrow that was removed must leave the list, so the list only shrinks."""
    sources = list(package_sources())
    modules = {s.module for s in sources}
    present = {(s.module, target) for s in sources for _, target in arrows(s, modules)}
    stale = [pair for pair in KNOWN if pair not in present]
    assert not stale, f"these KNOWN arrows are gone; delete them from KNOWN: {stale}"


# -- 2. Pure modules ----------------------------------------------------------------------------

#: Modules that compute without Django: statistics, scoring, scheduling arithmetic, parsing.
#: The set is closed: a pure module imports no Django (nor a Django add-on) and, of ours,
#: only other pure modules; the standard library, numpy and scipy are fine.
PURE: frozenset[str] = frozenset(
    {
        "reverie.accounts.backoff",
        "reverie.audit.protection",
        "reverie.billing.codes",
        "reverie.billing.fees",
        "reverie.billing.ledger",
        "reverie.billing.money",
        "reverie.care.ics",
        "reverie.care.telehealth",
        "reverie.demo.material",
        "reverie.demo.model",
        "reverie.demo.texts",
        "reverie.directory.availability",
        "reverie.directory.matching",
        "reverie.directory.selfcheck",
        "reverie.fhir.search",
        "reverie.lib.env",
        "reverie.lib.files",
        "reverie.lib.forwarded",
        "reverie.lib.hashchain",
        "reverie.lib.ids",
        "reverie.lib.periods",
        "reverie.lib.recurrence",
        "reverie.lib.safejson",
        "reverie.lifecycle.retention",
        "reverie.measures.answers",
        "reverie.measures.definitions",
        "reverie.measures.instruments",
        "reverie.measures.scoring",
        "reverie.outcomes.aftercare",
        "reverie.outcomes.change",
        "reverie.outcomes.dose",
        "reverie.outcomes.effects",
        "reverie.outcomes.evidence",
        "reverie.outcomes.expected",
        "reverie.outcomes.significance",
        "reverie.outcomes.support",
        "reverie.overview.trend",
        "reverie.paperwork.filetypes",
        "reverie.process.categories",
        "reverie.process.wordpiece",
        "reverie.scheduling.slots",
    }
)

#: Top-level packages a pure module may not import: Django and what is built on it.
IMPURE = ("django", "django_otp", "csp", "whitenoise")


def purity_violations(sources: Iterable[Source], pure: frozenset[str]) -> Iterator[str]:
    """Every import of Django, or of a module of ours that is not pure, by a pure module."""
    sources = list(sources)
    modules = {s.module for s in sources}
    for source in sources:
        if source.module not in pure:
            continue
        bad = [(line, name) for line, name in imports(source) if name.split(".")[0] in IMPURE]
        bad += [(line, target) for line, target in arrows(source, modules) if target not in pure]
        for line, name in sorted(bad)[:1]:
            yield (
                f"{source.path}:{line}: {source.module} is pure (PURE in "
                f"tests/test_architecture.py) but imports {name}. Pure code takes plain values "
                f"and returns plain values; the part that needs {name} belongs in a module "
                f"beside it that is not pure (queries.py, actions.py, views.py), which calls "
                f"the pure one."
            )


def test_pure_modules_are_free_of_django() -> None:
    problem = first(purity_violations(package_sources(), PURE))
    assert problem is None, problem


# -- 3. Views write through actions ---------------------------------------------------------------

WRITES = frozenset(
    {
        "save",
        "create",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
        "get_or_create",
        "update_or_create",
    }
)


def is_view_module(module: str) -> bool:
    """Views and API handlers: ``views.py``, ``*_views.py``, ``api.py``, ``views/*``.

    >>> is_view_module("reverie.care.record_views"), is_view_module("reverie.care.actions")
    (True, False)
    """
    parts = module.split(".")
    return parts[-1] in {"views", "api"} or parts[-1].endswith("_views") or "views" in parts[:-1]


def write_violations(sources: Iterable[Source]) -> Iterator[str]:
    for source in sources:
        if not is_view_module(source.module):
            continue
        for node in ast.walk(ast.parse(source.text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITES
                and not _is_form_or_dict_call(node)
            ):
                app = source.module.split(".")[1]
                yield (
                    f"{source.path}:{node.lineno}: the view module {source.module} writes "
                    f"with .{node.func.attr}(). Views read and render; the write belongs in "
                    f"reverie.{app}.actions (a function taking a trail.Context, writing and "
                    f"auditing in one transaction), which the view calls."
                )


def _is_form_or_dict_call(node: ast.Call) -> bool:
    """``form.save()``-like calls on forms, and ``dict.update()``/``set.update()`` on local
    containers, are not ORM writes. Recognised by the receiver's name."""
    receiver = node.func.value  # type: ignore[attr-defined]
    name = receiver.id if isinstance(receiver, ast.Name) else ""
    if isinstance(receiver, ast.Attribute):
        name = receiver.attr
    return name in NOT_THE_ORM


#: Receivers whose ``update``/``save``/``delete`` are not the ORM's.
NOT_THE_ORM = frozenset(
    {
        "context",
        "ctx",
        "data",
        "detail",
        "extra",
        "headers",
        "labels",
        "params",
        "query",
        "response",
        "session",
    }
)


def test_views_write_through_actions() -> None:
    problem = first(write_violations(package_sources()))
    assert problem is None, problem


# -- 4. Only the outbox sends mail -----------------------------------------------------------------

MAIL = ("django.core.mail", "smtplib", "email.mime", "email.message")


def mail_violations(sources: Iterable[Source]) -> Iterator[str]:
    for source in sources:
        if source.module.startswith("reverie.outbox"):
            continue
        for line, name in imports(source):
            if any(name == m or name.startswith(m + ".") for m in MAIL):
                yield (
                    f"{source.path}:{line}: {source.module} imports {name}. Only the outbox "
                    f"sends mail: queue the message with reverie.outbox.queue.enqueue from "
                    f"the app's emails.py, and the outbox delivers it after commit."
                )


def test_only_the_outbox_sends_mail() -> None:
    problem = first(mail_violations(package_sources()))
    assert problem is None, problem


# -- The test of the test: each check, fed a synthetic violation, fails with the right words --


def _with(*extra: Source) -> list[Source]:
    return [*package_sources(), *extra]


def test_a_function_level_import_up_the_order_fails_and_says_where_it_belongs() -> None:
    sneaky = Source(
        "reverie.care.sneaky",
        "reverie/care/sneaky.py",
        "def f():\n    from reverie.outcomes import change\n    return change\n",
    )
    problem = first(layer_violations(_with(sneaky)))
    assert problem is not None
    assert problem.startswith("reverie/care/sneaky.py:2: reverie.care.sneaky (room reverie.care")
    assert "imports reverie.outcomes.change (room reverie.outcomes, layer 9)" in problem
    assert "belongs in reverie.outcomes or a room above it" in problem
    assert "or what it needs belongs in reverie.care or below (layer < 7)" in problem


def test_siblings_may_not_use_each_other() -> None:
    sibling = Source(
        "reverie.process.peek", "reverie/process/peek.py", "from reverie.fhir import views\n"
    )
    problem = first(layer_violations(_with(sibling)))
    assert problem is not None
    assert "reverie.process.peek (room reverie.process, layer 9) imports reverie.fhir.views" in (
        problem
    )


def test_a_relative_import_in_a_package_on_disk_is_resolved(tmp_path: Path) -> None:
    root = tmp_path / "reverie"
    for folder in (root, root / "lib", root / "care"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (root / "care" / "models.py").write_text("X = 1\n")
    (root / "lib" / "dates.py").write_text("from ..care import models\n")
    problem = first(layer_violations(package_sources(root)))
    assert problem is not None
    assert problem.startswith("reverie/lib/dates.py:1: reverie.lib.dates (room reverie.lib, ")
    assert "imports reverie.care.models (room reverie.care, layer 7)" in problem


def test_a_module_in_no_room_is_named() -> None:
    with pytest.raises(LookupError, match=r"reverie\.attic is in no room of ROOMS"):
        room_of("reverie.attic")


def test_django_in_a_pure_module_fails() -> None:
    impure = Source(
        "reverie.outcomes.change",
        "reverie/outcomes/change.py",
        "import math\n\n\ndef f():\n    from django.db import connection\n",
    )
    problem = first(purity_violations([impure], PURE))
    assert problem is not None
    assert problem.startswith("reverie/outcomes/change.py:5: reverie.outcomes.change is pure")
    assert "imports django.db.connection" in problem
    assert "belongs in a module beside it that is not pure" in problem


def test_a_pure_module_using_an_impure_one_of_ours_fails() -> None:
    leaning = Source(
        "reverie.outcomes.change",
        "reverie/outcomes/change.py",
        "from reverie.measures import models\n",
    )
    problem = first(purity_violations(_with(leaning), PURE))
    assert problem is not None
    assert "is pure (PURE in tests/test_architecture.py) but imports reverie.measures.models" in (
        problem
    )


def test_a_view_that_writes_fails_and_points_to_actions() -> None:
    view = Source(
        "reverie.care.fake_views",
        "reverie/care/fake_views.py",
        "def v(request, pk):\n"
        "    context = {}\n"
        "    context.update(a=1)\n"
        "    Client.objects.filter(pk=pk).update(name='x')\n",
    )
    problem = first(write_violations([view]))
    assert problem is not None
    assert problem.startswith("reverie/care/fake_views.py:4: the view module")
    assert "writes with .update()" in problem
    assert "belongs in reverie.care.actions" in problem
    api = Source("reverie.care.api", "reverie/care/api.py", "def v(r):\n    note.save()\n")
    assert "writes with .save()" in (first(write_violations([api])) or "")


def test_mail_outside_the_outbox_fails() -> None:
    mailer = Source(
        "reverie.care.emails",
        "reverie/care/emails.py",
        "def send():\n    from django.core.mail import send_mail\n",
    )
    problem = first(mail_violations([mailer]))
    assert problem is not None
    assert problem.startswith("reverie/care/emails.py:2: reverie.care.emails imports")
    assert "Only the outbox sends mail" in problem
    inside = Source("reverie.outbox.delivery", "reverie/outbox/delivery.py", "import smtplib\n")
    assert first(mail_violations([inside])) is None
