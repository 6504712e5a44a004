"""features/README.md is generated from the feature files by tools/features_index.py: it must be current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("features_index", ROOT / "tools" / "features_index.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through the module
    spec.loader.exec_module(module)
    return module


def test_committed_features_readme_is_what_the_generator_produces_now():
    tool = load_tool()
    committed = (ROOT / "features" / "README.md").read_text(encoding="utf-8")
    assert committed == tool.render(), "features/README.md is out of date: run `python tools/features_index.py`"


def test_index_reads_tags_with_the_gherkin_parser(tmp_path: Path):
    tool = load_tool()
    (tmp_path / "design_notes").mkdir()
    (tmp_path / "catalogue").mkdir()
    (tmp_path / "design_notes" / "x.feature").write_text(
        "@dn-firmware @srv-11.2\n"
        "Feature: Firmware | pipes\n"
        "  # @srv-99.9 in a comment is not a tag\n"
        "  @srv-11.1 @role-IS @conf-I @conf-U\n"
        "  Scenario: Distribute\n"
        "    When something\n"
        "  Rule: a rule\n"
        "    @role-OU\n"
        "    Scenario Outline: Read <n>\n"
        "      When <n>\n"
        "      Examples:\n"
        "        | n |\n"
        "        | 1 |\n"
        "        | 2 |\n", encoding="utf-8")
    (tmp_path / "catalogue" / "gen.feature").write_text(
        "Feature: Generated\n  @srv-4.1.1\n  Scenario: a\n    When x\n  @srv-1.6\n  Scenario: b\n    When y\n",
        encoding="utf-8")
    text = tool.render(tmp_path)
    assert "Firmware Management — design notes §4.8 (`@dn-firmware`)" in text
    assert "| 1 | Distribute | 11.1, 11.2 | IS | U |" in text
    assert "| 2 | Read <n> (outline, 2 examples) | 11.2 | OU | — |" in text
    assert "99.9" not in text and "Firmware \\| pipes" in text
    assert "| `catalogue/gen.feature` | Generated | 2 | 1.6, 4.1.1 |" in text
    assert "| a |" not in text  # catalogue scenarios are not listed one by one
