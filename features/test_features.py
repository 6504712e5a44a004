"""Binds every feature file under features/ to pytest (pytest-bdd needs one Python module to do it)."""

from pytest_bdd import scenarios

scenarios(".")
