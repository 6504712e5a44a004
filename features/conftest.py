"""Loads the generic step library for the feature files (and only for them: the project's own tests
under tests/ do not depend on it)."""

from steps.common import *  # noqa: F401,F403
from steps.messages import *  # noqa: F401,F403
