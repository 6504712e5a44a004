"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it: the suite's conftest enables the BDD parts.
Target selection, the Receive Response Service and evidence arrive with the harness.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--duis-schema", default=None, help="DUIS XSD to validate against (default: DUIS 5.1 from DCC's signing tool; env DUISCONF_SCHEMA)")


_CONFIG: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    _CONFIG = config


def pytest_bdd_apply_tag(tag: str, function) -> None:
    """Feature tags such as @srv-8.11 or @role-IS become pytest marks, registered so that
    --strict-markers accepts them (pytest-bdd would otherwise warn about every unknown mark)."""
    if _CONFIG is not None:
        _CONFIG.addinivalue_line("markers", f"{tag}: feature tag")
    # Returning None lets pytest-bdd apply the mark as usual.
