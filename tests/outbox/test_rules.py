"""Two rules of outgoing mail, enforced over the source: only the outbox talks to a mail
server, and it never does so inside a database transaction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import transaction

import reverie
from reverie.outbox import delivery

PACKAGE = Path(reverie.__file__).parent
OUTBOX = PACKAGE / "outbox"

#: Calls that send mail or open a connection to a mail server.
SENDING_CALLS = {
    "send_mail",
    "send_mass_mail",
    "mail_admins",
    "mail_managers",
    "get_connection",
    "send_messages",
}
#: Names whose import outside the outbox means a message is being built to send by hand.
SENDING_IMPORTS = SENDING_CALLS | {"EmailMessage", "EmailMultiAlternatives", "SMTPConnection"}


def _violations(path: Path) -> list[str]:
    return _scan(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))


def _scan(source: str, label: str) -> list[str]:
    tree = ast.parse(source, filename=label)
    found = []
    for node in ast.walk(tree):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if name in SENDING_CALLS:
                found.append(f"{where} calls {name}()")
            # EmailMessage(...).send() and friends
            if (
                name == "send"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Call)
                and getattr(func.value.func, "id", getattr(func.value.func, "attr", ""))
                in SENDING_IMPORTS
            ):
                found.append(f"{where} sends a message it built")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "django.core.mail"
        ):
            names = {alias.name for alias in node.names} & SENDING_IMPORTS
            if names:
                found.append(f"{where} imports {', '.join(sorted(names))}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if any(m == "smtplib" or m.startswith("django.core.mail.backends") for m in modules):
                found.append(f"{where} imports a mail transport")
    return found


def test_no_code_outside_the_outbox_sends_mail() -> None:
    sources = [p for p in PACKAGE.rglob("*.py") if OUTBOX not in p.parents]
    assert len(sources) > 100  # the walk really covers the code base
    violations = [v for path in sources for v in _violations(path)]
    assert not violations, "send mail through reverie.outbox.queue.enqueue:\n" + "\n".join(
        violations
    )


def test_the_rule_would_catch_a_direct_send() -> None:
    found = _scan(
        "from django.core.mail import EmailMessage, send_mail\n"
        "send_mail('s', 'b', 'f', ['t'])\n"
        "EmailMessage('s', 'b', 'f', ['t']).send()\n",
        "probe.py",
    )
    assert found == [
        "probe.py:1 imports EmailMessage, send_mail",
        "probe.py:2 calls send_mail()",
        "probe.py:3 sends a message it built",
    ]


def test_the_outbox_is_the_one_place_that_opens_a_connection() -> None:
    inside = [v for path in OUTBOX.rglob("*.py") for v in _violations(path)]
    assert any("get_connection" in v for v in inside)


def test_delivery_refuses_to_run_inside_a_transaction(db) -> None:
    with transaction.atomic(), pytest.raises(delivery.InTransaction):
        delivery.deliver()
    # The blocks pytest-django wraps each test in stand for autocommit and do not count.
    assert delivery.deliver().sent == []
