"""Generated documentation stays in step with the rules it is generated from."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_emulator_doc_tables_are_fresh():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "emulator_doc.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
