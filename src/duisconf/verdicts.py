"""Verdicts, as DESIGN.md defines them, from what went wrong in a scenario.

pass · fail (the target broke a rule: an assertion about what it sent) · inconclusive (the target never
answered, could not be reached, or a precondition could not be reached) · error (the suite or its configuration failed) · not applicable
(decided before the run from the declaration). A timeout is never reported as a plain failure.
"""

from __future__ import annotations

from .client import TargetReplyInvalid, TargetUnavailable
from .errors import PreconditionNotMet, SchemaInvalid, SignatureInvalid
from .receiver import TargetTimeout

PASS, FAIL, INCONCLUSIVE, ERROR, NOT_APPLICABLE = "pass", "fail", "inconclusive", "error", "not applicable"
ORDER = (PASS, NOT_APPLICABLE, INCONCLUSIVE, FAIL, ERROR)  # a scenario's verdict only ever gets worse


def verdict_of(exception: BaseException | None) -> str:
    if exception is None:
        return PASS
    if isinstance(exception, (TargetTimeout, TargetUnavailable, PreconditionNotMet)):
        return INCONCLUSIVE
    # What the target sent broke DUIS: wrong code, bad schema, bad signature, a reply that is not DUIS.
    if isinstance(exception, (AssertionError, TargetReplyInvalid, SchemaInvalid, SignatureInvalid)):
        return FAIL
    return ERROR  # ConfigError and everything else: the suite or its configuration


def worst(*verdicts: str) -> str:
    return max(verdicts, key=ORDER.index)
