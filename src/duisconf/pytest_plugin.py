"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it: the suite's conftest enables the BDD parts.
Target selection, the Receive Response Service and evidence arrive with the harness.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--duis-schema", default=None, help="DUIS XSD to validate against (default: DUIS 5.1 from DCC's signing tool; env DUISCONF_SCHEMA)")
