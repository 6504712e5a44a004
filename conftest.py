"""Root conftest, thin on purpose: the duisconf plugin arrives through its entry point; this brings the
generic step library into scope for the feature files. (The project's own tests load it too, so a step
module that cannot import fails `./dev test`, not only a suite run.)"""

pytest_plugins = ["steps.common", "steps.messages", "steps.requests"]
