"""The worker keeps the audit trail checked: an hourly checkpoint (which verifies the
entries added since the last one before writing the head outside the database) and a
daily verification of the whole chain against every checkpoint."""

from __future__ import annotations

import datetime

from reverie.audit import trail
from reverie.core.worker import job


class TrailBroken(RuntimeError):
    """The trail failed verification; the worker keeps this as the job's error."""


def _raise_if_broken(result: trail.Verification, what: str) -> None:
    if not result.ok:
        shown = "; ".join(str(p) for p in result.problems[:5])
        raise TrailBroken(
            f"{what}: {len(result.problems)} problem(s), first: {shown}. "
            "Run `reverie audit verify` and see docs/operations.md (Audit trail)."
        )


@job("audit.checkpoint", every=datetime.timedelta(hours=1))
def take_checkpoint() -> None:
    _, result = trail.checkpoint(by="worker")
    _raise_if_broken(result, "no audit checkpoint written")


@job("audit.verify", every=datetime.timedelta(days=1), lock_for=datetime.timedelta(hours=2))
def verify_trail() -> None:
    result = trail.verify()
    trail.remember_verification(result, "worker")
    _raise_if_broken(result, "the audit trail does not verify")
