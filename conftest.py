"""Root conftest, thin on purpose: the duisconf plugin arrives through its entry point; this brings every
step module under steps/ into scope for the feature files (a new module needs no registration here).
The project's own tests load it too, so a step module that cannot import fails `./dev test` as well."""

from pathlib import Path

pytest_plugins = [f"steps.{module.stem}" for module in sorted((Path(__file__).parent / "steps").glob("*.py"))
                  if module.stem != "__init__"]
