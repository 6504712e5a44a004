"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it. Target selection, the Receive Response Service and
evidence arrive with the harness; for now it registers the suite's feature tags as pytest marks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_TAG = re.compile(r"(?<!\S)@([^\s@#]+)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--duis-schema", default=None,
                    help="DUIS XSD to validate against (default: DUIS 5.1 from DCC's signing tool; env DUISCONF_SCHEMA)")


def feature_tags(base: Path) -> set[str]:
    """Every tag used in the feature files under `base` (@srv-8.11, @role-IS, @cv-4, @conf-I …)."""
    tags: set[str] = set()
    for feature in base.rglob("*.feature"):
        for line in feature.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("@"):
                tags.update(_TAG.findall(line.split("#", 1)[0]))
    return tags


def pytest_configure(config: pytest.Config) -> None:
    # Tags such as @srv-8.11 become pytest marks; registering them lets --strict-markers accept them and
    # keeps pytest-bdd from warning about each one (tags on Examples tables bypass pytest_bdd_apply_tag).
    try:
        base = config.getini("bdd_features_base_dir") or "features"
    except ValueError:  # pytest-bdd not loaded
        return
    folder = Path(config.rootpath, base)
    if folder.is_dir():
        for tag in sorted(feature_tags(folder)):
            config.addinivalue_line("markers", f"{tag}: feature tag")
