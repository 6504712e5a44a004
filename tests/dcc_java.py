"""DCC's Java signing tool (tool.jar of @smartdcc/duis-sign-wrap) as a batch oracle for the tests.

tests/java/BatchTool.java (ours) is compiled once into the cache directory and calls the tool's own
`Validate` / `Sign` entry points for many documents in one JVM (a JVM per document costs ~0.5 s).

    tool = DCCTool.build(java, javac)
    verdicts = tool.validate({"4.13": signed_xml, ...})
    assert verdicts["4.13"].passed, verdicts["4.13"].said
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from duisconf import paths

SOURCE = Path(__file__).with_name("java") / "BatchTool.java"
SUCCESS, MISSING_KEY, VALIDATION_FAIL = 0, 3, 10  # the tool's ResultCode values (duis.md §9.5)


@dataclass(frozen=True)
class Verdict:
    code: int          # the tool's exit code
    said: str          # its diagnostics, one line
    output: bytes      # its stdout: the signed XML (Sign) or the Reference's digest input (Validate)

    @property
    def passed(self) -> bool:
        """Validate's verdict: the signature was checked and passed (not merely skipped)."""
        return self.code == SUCCESS and "passed signature check" in self.said


class DCCTool:
    def __init__(self, java: str, classes: Path, jar: Path):
        self.java, self.classes, self.jar = java, classes, jar

    @classmethod
    def build(cls, java: str, javac: str) -> DCCTool:
        jar = paths.signing_tool_jar()
        key = hashlib.sha256(SOURCE.read_bytes() + jar.read_bytes()).hexdigest()[:16]
        classes = paths.cache_dir() / "dcc-batch-tool" / key
        if not (classes / "BatchTool.class").is_file():
            classes.mkdir(parents=True, exist_ok=True)
            subprocess.run([javac, "-nowarn", "-cp", str(jar), "-d", str(classes), str(SOURCE)],
                           check=True, capture_output=True, timeout=120)
        return cls(java, classes, jar)

    def run(self, jobs: Iterable[tuple[str, str, bytes, tuple[str, ...]]]) -> dict[str, Verdict]:
        """Run (program, name, document, extra tool arguments) jobs in one JVM; verdicts by name."""
        with tempfile.TemporaryDirectory(prefix="dcc-tool-") as work:
            lines, names = [], {}
            for n, (program, name, document, extra) in enumerate(jobs):
                source, output = Path(work, f"{n}.xml"), Path(work, f"{n}.out")
                source.write_bytes(document)
                names[str(source)] = (name, output)
                lines.append("\t".join([program, str(source), str(output), *extra]))
            done = subprocess.run(
                [self.java, "-Djava.security.manager=allow", "-cp", os.pathsep.join([str(self.jar), str(self.classes)]),
                 "BatchTool"], input="\n".join(lines).encode(), capture_output=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"BatchTool failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
            verdicts = {}
            for line in done.stdout.decode().splitlines():
                code, source, said = line.split("\t", 2)
                name, output = names[source]
                verdicts[name] = Verdict(int(code), said, output.read_bytes())
        missing = {name for name, _ in names.values()} - set(verdicts)
        if missing:
            raise RuntimeError(f"BatchTool gave no verdict for {sorted(missing)[:5]}")
        return verdicts

    def validate(self, documents: Mapping[str, bytes], certificate: Path | None = None) -> dict[str, Verdict]:
        """DCC's `Validate` on each document (the certificate found by X509SerialNumber, unless given)."""
        extra = (str(certificate),) if certificate else ()
        return self.run(("Validate", name, doc, extra) for name, doc in documents.items())

    def sign(self, documents: Mapping[str, bytes], *, preserve_counter: bool = True,
             certificate: Path | None = None, key: Path | None = None) -> dict[str, Verdict]:
        """DCC's `Sign` on each document (the key looked up from the originator, unless given)."""
        extra = (("--preserveCounter",) if preserve_counter else ()) + tuple(str(p) for p in (certificate, key) if p)
        return self.run(("Sign", name, doc, extra) for name, doc in documents.items())
