"""Root conftest, thin on purpose: the duisconf plugin arrives through its entry point; this brings every
step module under steps/ into scope for the feature files (a new module needs no registration here).
The project's own tests load it too, so a step module that cannot import fails `./dev test` as well."""

from pathlib import Path

_GENERIC = ["common", "requests", "responses", "devices", "messages"]  # first: domain modules build on them
# The catalogue's applicability (from the party's declaration) and coverage summary: here rather than in
# features/conftest.py, whose pytest_plugins pytest refuses when that conftest is found during collection.
pytest_plugins = ["duisconf.pytest_catalogue", "duisconf.pytest_report", "duisconf.pytest_deviations",
                  "duisconf.pytest_clauses", "duisconf.pytest_subsets", "duisconf.pytest_shards"] + [f"steps.{name}" for name in _GENERIC] + [
    f"steps.{module.stem}" for module in sorted((Path(__file__).parent / "steps").glob("*.py"))
    if module.stem not in ("__init__", *_GENERIC)]
# Feature folders and files as pytest paths, not-applicable as its own outcome; --shard I/N.
