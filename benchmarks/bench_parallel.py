"""Parallel benchmark: does the harness scale with xdist workers?

1. The user-entry features (features/uept) on the default emulator target, serially and with `-n 2`:
   `-n 2` should be no slower than serial on a 2-core machine.
2. Latency-bound scaling: the emulator holds every asynchronous message back 2 s (target file with
   [emulator] latency = 2), and N scenarios each send a read and wait for its response. `-n 16` should be
   at least 12x faster than `-n 1`. Reported two ways: the scenario phase (first scenario start to last
   scenario stop, from the Allure results) and the whole wall time including start-up; start-up of 16
   worker processes on 2 cores is CPU-bound and is the part that does not scale.

    ./dev bench-parallel [--scenarios 160] [--skip-uept]     (about 7 minutes: -n 1 alone is N x 2 s)

Measured on the 2-core project machine, idle: 160 scenarios, -n 1 324.4 s in scenarios (326.7 s wall),
-n 16 24.1 s in scenarios (35.4 s wall): x13.5 in scenarios, x9.2 wall. With 64 scenarios the ratios
were x9.8 / x4.8: sixteen workers starting on two cores stagger their first scenario by up to ~10 s,
and that only amortises over enough scenarios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FEATURE = """@bench
Feature: Latency-bound reads
  Scenario Outline: A read waits for its delayed response
    Given a commissioned ESME
    When the Import Supplier sends SRV <srv> to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout

    Examples:
      | n | srv |
{rows}
"""

BINDING = """from pathlib import Path
from pytest_bdd import scenarios

scenarios(str(Path(__file__).parent / "latency.feature"))
"""

TARGET = """[target]
name = "emulator-latency-2s"
kind = "emulator"
[emulator]
latency = 2.0
[timeouts]
on_demand = 30
quiet = 0.5
[users]
IS = "90-B3-D5-1F-30-01-00-00"
[devices]
ESME = "00-DB-12-34-56-78-90-A0"
CHF = "00-DB-12-34-56-78-90-A2"
"""


def run(args: list[str], results: Path) -> tuple[float, float, int]:
    """(wall seconds, scenario-phase seconds, scenarios passed) of one pytest run."""
    shutil.rmtree(results, ignore_errors=True)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "-p", "no:hypothesispytest", "--alluredir", str(results), *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    outcomes = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    phase = (max(o["stop"] for o in outcomes) - min(o["start"] for o in outcomes)) / 1000
    return wall, phase, sum(o["status"] == "passed" for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=160)
    parser.add_argument("--skip-uept", action="store_true")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-parallel-", dir=ROOT / "benchmarks"))  # under rootdir: steps load
    try:
        if not options.skip_uept:
            serial = run(["features/test_features.py", "-m", "uept"], work / "uept-1")
            two = run(["features/test_features.py", "-m", "uept", "-n", "2"], work / "uept-2")
            print(f"user-entry features ({serial[2]} scenarios): serial {serial[0]:.1f} s wall, -n 2 {two[0]:.1f} s "
                  f"wall  ->  x{serial[0] / two[0]:.2f} ({'no slower' if two[0] <= serial[0] else 'SLOWER'})")

        rows = "\n".join(f"      | {n} | {srv} |" for n, srv in
                         zip(range(options.scenarios), ["4.1.1", "4.3", "4.13", "4.1.2"] * options.scenarios))
        (work / "latency.feature").write_text(FEATURE.format(rows=rows))
        (work / "test_latency.py").write_text(BINDING)
        (work / "latency.toml").write_text(TARGET)
        common = [str(work / "test_latency.py"), "--target", str(work / "latency.toml")]
        one = run(common + ["-n", "1"], work / "lat-1")
        sixteen = run(common + ["-n", "16"], work / "lat-16")
        print(f"latency 2 s, {one[2]} scenarios: -n 1 {one[1]:.1f} s in scenarios ({one[0]:.1f} s wall), "
              f"-n 16 {sixteen[1]:.1f} s in scenarios ({sixteen[0]:.1f} s wall)")
        ratio = one[1] / sixteen[1]
        print(f"  scenario phase x{ratio:.1f} ({'meets' if ratio >= 12 else 'BELOW'} the x12 goal); "
              f"wall including start-up x{one[0] / sixteen[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
