"""GBCS codec benchmark: decode + MAC verify of an ECS17b response, the whole RTDS 4.5.0 set, cold ECDH.

Goals (issue 10): median decode + MAC verify of an ECS17b response with warm keys ≤ 0.2 ms, and the
whole RTDS set (1275 messages: frames, MACs, signatures, decryption, content) in one process ≤ 2 s.
Also reports the cost of one cold ECDH (the shared-secret cache is what makes warm decodes cheap).
A script, not a timed test: timings on a shared machine vary. Needs ../shared/dcc-data (DCC's RTDS).

    ./dev bench            (runs this after the message-core and emulator benchmarks)
    python benchmarks/bench_gbcs.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench_message_core import measure  # same folder: the one warm-up-then-sample loop
from duisconf import paths
from duisconf.gbcs import crypto
from duisconf.gbcs.frame import GeneralCiphering
from duisconf.gbcs.keys import KeyDirectory
from duisconf.gbcs.message import decode_message, verify_mac

RTDS = paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds"
ECS17B = RTDS / "RTDS-4.5.0" / "4.1.1_ECS17b" / "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX"
GOALS = {"ecs17b_decode_mac_ms": 0.2, "ecs17b_mac_only_ms": None, "rtds_set_s": 2.0, "cold_ecdh_ms": None}


def _hex(path: Path) -> bytes:
    return bytes.fromhex("".join(path.read_text().split()))


def _median_ms(action, repeat: int) -> float:  # noqa: ANN001
    return statistics.median(measure(action, repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not ECS17B.is_file():
        print(f"bench_gbcs: skipped, DCC's RTDS data is absent ({RTDS})", file=sys.stderr)
        return 0
    keys = KeyDirectory(RTDS / "keystore")
    data = _hex(ECS17B)
    decode_message(data, keys)  # warm: keys read, Z cached, codecs imported
    frame = GeneralCiphering.decode(data)
    results: dict[str, float] = {
        "ecs17b_decode_mac_ms": _median_ms(lambda: decode_message(data, keys), args.repeat),
        "ecs17b_mac_only_ms": _median_ms(lambda: verify_mac(frame.inner, frame.mac, keys), args.repeat),
    }

    # Cold ECDH: one key agreement without the cache.
    private = keys.ka_private_key("90-B3-D5-1F-30-01-00-00")
    public = keys.public_keys("00-DB-12-34-56-78-90-A0", "ka")[0]

    def cold() -> None:
        crypto.clear_shared_secrets()
        crypto.shared_secret(private, public)

    results["cold_ecdh_ms"] = _median_ms(cold, max(20, args.repeat // 20))

    # The whole RTDS set in one fresh process state: cold caches, every key read once.
    crypto.clear_shared_secrets()
    messages = [(p, _hex(p)) for p in sorted((RTDS / "RTDS-4.5.0").glob("*/*.HEX"))]
    fresh = KeyDirectory(RTDS / "keystore")
    started = time.perf_counter()
    failures = 0
    for path, message in messages:
        use_case = path.parent.name.split("_", 1)[1]  # the caller's hint, as tests/gbcs_data.py derives it
        try:
            decode_message(message, fresh, use_case=_gbcs_use_case(use_case))
        except Exception:  # noqa: BLE001 - counted and reported; the bench measures, tests judge
            failures += 1
    results["rtds_set_s"] = time.perf_counter() - started
    results["rtds_messages"] = len(messages)
    results["rtds_failures"] = failures

    if args.json:
        print(json.dumps(results))
        return 0
    for name, value in results.items():
        goal = GOALS.get(name)
        unit = "" if name.startswith("rtds_m") or name.startswith("rtds_f") else name.rsplit("_", 1)[-1]
        shown = f"{value:.4f} {unit}" if isinstance(value, float) else str(value)
        verdict = "" if goal is None else ("  (goal ≤ %s: %s)" % (goal, "met" if value <= goal else "MISSED"))
        print(f"gbcs {name:22s} {shown}{verdict}")
    return 0


def _gbcs_use_case(folder_use_case: str) -> str:
    import re

    m = re.match(r"^([A-Z]{2,4}\d{2,3}(?:[a-z]|[A-Z]\d?(?![a-z]))?)", folder_use_case)
    return m[1] if m else folder_use_case


if __name__ == "__main__":
    sys.exit(main())
