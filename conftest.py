"""Root conftest, thin on purpose: the duisconf plugin arrives through its entry point; this brings every
step module under steps/ into scope for the feature files (a new module needs no registration here).
The project's own tests load it too, so a step module that cannot import fails `./dev test` as well."""

from pathlib import Path

_GENERIC = ["common", "requests", "responses", "devices", "messages"]  # first: domain modules build on them
# The run-wide plugins: catalogue applicability and coverage, report labels, the deviation register, clause
# coverage, feature folders and files as paths (not applicable as its own outcome), --shard I/N. Here rather
# than in features/conftest.py, whose pytest_plugins pytest refuses when that conftest is found during collection.
_RUN_PLUGINS = ["catalogue", "report", "deviations", "clauses", "subsets", "shards"]
pytest_plugins = [f"duisconf.pytest_{name}" for name in _RUN_PLUGINS] + [f"steps.{name}" for name in _GENERIC] + [
    f"steps.{module.stem}" for module in sorted((Path(__file__).parent / "steps").glob("*.py"))
    if module.stem not in ("__init__", *_GENERIC)]
