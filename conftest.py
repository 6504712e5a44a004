"""Root conftest: thin on purpose. The duisconf pytest plugin is loaded by its entry point; this file
only brings the step library into scope for the feature files under features/."""

pytest_plugins = ["steps.common", "steps.messages"]
