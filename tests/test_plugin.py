"""The pytest plugin's tag handling: every feature tag is a registered mark."""

from pathlib import Path

from duisconf.pytest_plugin import feature_tags


def test_feature_tags_are_collected_from_scenarios_and_examples(tmp_path: Path):
    (tmp_path / "a.feature").write_text(
        "@dn-x @conf-I\nFeature: f\n  @srv-8.11 @role-IS  # a comment @not-a-tag\n  Scenario: s\n"
        "    Given the user writes an @address in a step\n"
        "    @srv-4.1.1\n    Examples: e\n")
    assert feature_tags(tmp_path) == {"dn-x", "conf-I", "srv-8.11", "role-IS", "srv-4.1.1"}


def test_no_step_swallows_an_assertion_or_a_timeout():
    """A step that catches AssertionError, TargetTimeout (or anything broader) could turn a fail or an
    inconclusive into a pass: steps check what they say or let the failure through (docs/harness.md)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "steps"
    swallowed = {"AssertionError", "TargetTimeout", "RequiredMessageMissing", "ReceivePathUnproven", "DuisConfError",
                 "Exception", "BaseException"}
    found = []
    for module in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.ExceptHandler):
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                names = {getattr(c, "id", getattr(c, "attr", None)) for c in caught if c is not None}
                if node.type is None or names & swallowed:
                    found.append(f"{module.name}:{node.lineno} catches {sorted(n for n in names if n) or 'everything'}")
    # steps/messages.py checks that preparing a bad request fails: it catches the error it expects and
    # asserts on it (the scenario is about our own preparation, not about the target)
    assert [f for f in found if not f.startswith("messages.py:")] == []


_STEP_CONFTEST = '''
from pytest_bdd import given, then, parsers

@given(parsers.parse("a value of {n:d}"), target_fixture="value")
def value(n):
    return n

@then(parsers.parse("this folder reads it as {word}"))
def folder_reads(value, word):
    assert word == "EXPECTED", f"the step definition of another folder ran: {word}"
'''


def test_step_lookup_remembered_per_module_keeps_each_folders_own_step_definitions(tmp_path: Path):
    """duisconf.pytest_steplookup lists step definitions once per module: two folders defining the same
    step text differently (in their own conftest) must each still get their own, in every scenario."""
    import os
    import subprocess
    import sys

    for folder, word in (("left", "left"), ("right", "right")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "conftest.py").write_text(_STEP_CONFTEST.replace("EXPECTED", word))
        scenarios = "".join(f"  Scenario: {word} {i}\n    Given a value of {i}\n    Then this folder reads it as {word}\n"
                            for i in range(3))
        (tmp_path / folder / "f.feature").write_text(f"Feature: {word}\n{scenarios}")
        (tmp_path / folder / f"test_{folder}.py").write_text("from pytest_bdd import scenarios\nscenarios('f.feature')\n")
    probe = tmp_path / "probe.py"  # how many lists of step definitions were made
    probe.write_text("import duisconf.pytest_steplookup as lookup\n"
                     "def pytest_terminal_summary(terminalreporter):\n"
                     "    terminalreporter.write_line(f'step definitions listed: {len(lookup._visible)}')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "pytest_bdd.plugin", "-p", "duisconf.pytest_steplookup",
                           "-p", "probe", "-o", "addopts=", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "6 passed" in done.stdout, done.stdout + done.stderr
    assert "step definitions listed: 2" in done.stdout, done.stdout  # once per module, not per step
