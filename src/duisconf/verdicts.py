"""Verdicts, as DESIGN.md defines them, from what went wrong in a scenario (rules and reasons:
docs/harness.md, "Verdicts").

pass · fail (the target broke a rule: an assertion about what it sent, a message that fails its schema,
signature or RequestID checks, a duplicate, a message nothing expects, or a required message missing
after the target acknowledged the request) · inconclusive (the target never acknowledged, could not be
reached, or a precondition could not be reached) · error (the suite or its configuration failed,
including a receive path this run never proved) · not applicable (decided before the run from the
declaration). Verdicts only worsen within a scenario (`worst`).
"""

from __future__ import annotations

from .client import TargetReplyInvalid, TargetUnavailable
from .errors import PreconditionNotMet, SchemaInvalid, SignatureInvalid
from .receiver import ReceivePathUnproven, RequiredMessageMissing, TargetTimeout

PASS, FAIL, INCONCLUSIVE, ERROR, NOT_APPLICABLE = "pass", "fail", "inconclusive", "error", "not applicable"
ORDER = (PASS, NOT_APPLICABLE, INCONCLUSIVE, FAIL, ERROR)  # a scenario's verdict only ever gets worse


def verdict_of(exception: BaseException | None) -> str:
    if exception is None:
        return PASS
    if isinstance(exception, ReceivePathUnproven):
        return ERROR  # our own receive path may be what failed: never a verdict on the target
    if isinstance(exception, RequiredMessageMissing):
        return FAIL
    if isinstance(exception, (TargetTimeout, TargetUnavailable, PreconditionNotMet)):
        return INCONCLUSIVE
    # What the target sent broke DUIS: wrong code, bad schema, bad signature, a reply that is not DUIS.
    if isinstance(exception, (AssertionError, TargetReplyInvalid, SchemaInvalid, SignatureInvalid)):
        return FAIL
    return ERROR  # ConfigError and everything else: the suite or its configuration


def worst(*verdicts: str) -> str:
    return max(verdicts, key=ORDER.index)
