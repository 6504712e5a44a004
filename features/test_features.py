"""Binds every feature file under features/ to pytest (pytest-bdd needs one Python module to do it), each
scenario under a test name made of its title and its feature file (duisconf.scenario_ids: stable IDs)."""

from pathlib import Path

from duisconf.scenario_ids import bind

bind(globals(), Path(__file__).parent)
