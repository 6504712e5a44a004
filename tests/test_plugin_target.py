"""The plugin's --target option: a broken target file stops the run with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_broken_target_stops_the_run_naming_file_and_key(tmp_path: Path):
    broken = tmp_path / "kit.toml"
    broken.write_text("[target]\nkind = 'dccboxed'\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "features",
                             "-q", "-p", "no:cacheprovider", "--target", str(broken), "-k", "signed_read"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"{broken}: [target] base_url is required" in result.stdout + result.stderr
