"""The pytest plugin's tag handling: every feature tag is a registered mark."""

from pathlib import Path

from duisconf.pytest_plugin import feature_tags


def test_feature_tags_are_collected_from_scenarios_and_examples(tmp_path: Path):
    (tmp_path / "a.feature").write_text(
        "@dn-x @conf-I\nFeature: f\n  @srv-8.11 @role-IS  # a comment @not-a-tag\n  Scenario: s\n"
        "    Given the user writes an @address in a step\n"
        "    @srv-4.1.1\n    Examples: e\n")
    assert feature_tags(tmp_path) == {"dn-x", "conf-I", "srv-8.11", "role-IS", "srv-4.1.1"}
