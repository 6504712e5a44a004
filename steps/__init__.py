import pytest

# The step modules share this helper; register it before any of them imports it, so its asserts are rewritten.
pytest.register_assert_rewrite("steps.device_reads")
