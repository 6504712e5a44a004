"""How the suite asks a party's DCC user system to act: one interface, three drivers.

An `Order` says what the scenario wants their system to do: send an SRV to a device (with parameters and
an execution time), cancel a future-dated one, or restart. The driver only *asks*; what their system
then sends is seen and judged by the emulated DCC (duisconf.user_system.judge), never by the driver.

- `HttpTrigger`  POSTs the order as JSON (docs/user-system.md) to an adapter the party runs; any 2xx
                 means "taken". Unreachable, or a non-2xx answer: inconclusive (TargetUnavailable).
- `CommandLine`  runs a command template with the order's fields as placeholders, one argument each
                 (the template is split like a shell line first, so a value never becomes two arguments
                 or shell syntax). Exit status 0 means "taken"; another status or no exit within the
                 driver timeout: inconclusive.
- `ManualPrompt` prints the order for a person and returns; the judge then waits (the driver timeout)
                 for the request, and nobody acting is a TargetTimeout: inconclusive.
"""

from __future__ import annotations

import json
import shlex
import string
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import requests

from ..client import TargetUnavailable
from ..errors import ConfigError
from ..receiver import TargetTimeout

ACTIONS = ("send", "cancel", "restart")
PLACEHOLDERS = ("action", "srv", "device", "originator", "parameters", "execution_time", "credit", "scenario_id",
                "request_ref", "json")


@dataclass(frozen=True)
class Order:
    """What the suite asks their system to do. `device` is the target EUI (None: a non-device request to
    the DCC); `parameters` are the DUIS body values by element name; `execution_time` is the
    ExecutionDateTime to use (future-dated), `request_ref` a unique reference of this order. `credit`: for
    SRV 2.2 Top Up Device, the value in pence of the UTRN their system makes (with its own prepayment KA
    key; the UTRN is theirs to make, so it is not among the parameters)."""

    action: str
    request_ref: str
    scenario_id: str = ""
    srv: str | None = None
    device: str | None = None
    originator: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    execution_time: str | None = None
    credit: int | None = None

    def as_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.action == "restart":
            return "restart your system (stop it and start it again, keeping its state)"
        what = f"SRV {self.srv} to {self.device or 'the DCC'}"
        if self.credit is not None:
            what += f" with a UTRN for {self.credit} pence"
        if self.parameters:
            what += " with " + ", ".join(f"{k} = {v!r}" for k, v in self.parameters.items())
        if self.action == "cancel":
            return f"cancel the future-dated {what}"
        if self.execution_time:
            what += f", to execute at {self.execution_time}"
        return f"send {what}, as {self.originator}"


class Driver(Protocol):
    kind: str

    def place(self, order: Order) -> None:
        """Ask their system to act on `order`. Raises TargetUnavailable / TargetTimeout (inconclusive)
        when it cannot be asked; returns once it has been asked (not once it has acted)."""

    def describe(self) -> str: ...

    def probe(self) -> str:
        """check-target: can the driver reach their system at all? Orders nothing."""


def check_template(source: Path, key: str, template: str) -> None:
    """A command template must split like a shell line and use only known placeholders."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"{source}: [driver] {key} = {template!r}: cannot split it like a shell line ({exc})") from None
    if not words:
        raise ConfigError(f"{source}: [driver] {key} is empty")
    for word in words:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(word) if name is not None]
        except ValueError as exc:
            raise ConfigError(f"{source}: [driver] {key}: {word!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
        unknown = [name for name in names if name not in PLACEHOLDERS]
        if unknown:
            raise ConfigError(f"{source}: [driver] {key}: unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} "
                              f"(known: {', '.join('{' + n + '}' for n in PLACEHOLDERS)})")


class HttpTrigger:
    kind = "http"

    def __init__(self, url: str, timeout: float = 10.0):
        self.url, self.timeout = url, timeout

    def describe(self) -> str:
        return f"HTTP trigger {self.url}"

    def place(self, order: Order) -> None:
        try:
            answer = requests.post(self.url, json=order.as_json(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise TargetUnavailable(f"the user system's trigger {self.url} did not answer "
                                    f"({type(exc).__name__}): cannot ask it to {order.describe()}") from None
        if not 200 <= answer.status_code < 300:
            raise TargetUnavailable(f"the user system's trigger {self.url} refused the order to {order.describe()}: "
                                    f"HTTP {answer.status_code} {answer.text[:200]!r}")

    def probe(self) -> str:
        """check-target: the adapter answers at all (any HTTP status; nothing is ordered)."""
        try:
            answer = requests.get(self.url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TargetUnavailable(f"{self.url}: no answer ({type(exc).__name__})") from None
        return f"{self.url} answers (HTTP {answer.status_code} to GET)"


class CommandLine:
    kind = "command"

    def __init__(self, template: str, restart_template: str | None = None, timeout: float = 30.0):
        self.template, self.restart_template, self.timeout = template, restart_template, timeout

    def describe(self) -> str:
        return f"command {self.template!r}"

    def arguments(self, order: Order) -> list[str]:
        """The command for `order`: each word of the template filled in, never re-split."""
        template = self.restart_template if order.action == "restart" and self.restart_template else self.template
        values = {**{k: "" if v is None else v for k, v in order.as_json().items()},
                  "parameters": json.dumps(order.parameters, sort_keys=True), "json": json.dumps(order.as_json())}
        return [word.format(**values) for word in shlex.split(template)]

    def place(self, order: Order) -> None:
        argv = self.arguments(order)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise TargetUnavailable(f"driver command {argv[0]!r} not found") from None
        except subprocess.TimeoutExpired:
            raise TargetTimeout(f"driver command {argv[0]!r} did not finish within {self.timeout:g} s "
                                f"(asked to {order.describe()})") from None
        if done.returncode != 0:
            raise TargetUnavailable(f"driver command {argv[0]!r} exited {done.returncode} when asked to "
                                    f"{order.describe()}: {(done.stderr or done.stdout).strip()[-300:]!r}")

    def probe(self) -> str:
        argv = shlex.split(self.template)
        import shutil

        if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
            raise TargetUnavailable(f"driver command {argv[0]!r} is not on PATH")
        return f"{argv[0]} found"


class ManualPrompt:
    """A person drives their system. The prompt goes to the terminal (pytest captures stdout/stderr)."""

    kind = "manual"

    def __init__(self, timeout: float = 300.0, stream: TextIO | None = None):
        self.timeout, self.stream = timeout, stream

    def describe(self) -> str:
        return "manual prompt"

    def _out(self) -> TextIO:
        if self.stream is not None:
            return self.stream
        try:
            return open("/dev/tty", "w")  # noqa: SIM115  (closed in place)
        except OSError:
            return sys.__stderr__

    def place(self, order: Order) -> None:
        out = self._out()
        out.write(f"\n>>> duisconf [{order.scenario_id or order.request_ref}]: please {order.describe()}.\n"
                  f">>> waiting up to {self.timeout:g} s for your system to act.\n")
        out.flush()
        if order.action == "restart":
            # A restart cannot be seen on the wire: the person says when it is done (Enter), else inconclusive.
            if not _wait_for_enter(self.timeout):
                raise TargetTimeout(f"nobody confirmed the restart within {self.timeout:g} s")
        if out not in (self.stream, sys.__stderr__):
            out.close()

    def probe(self) -> str:
        return "a person acts on each prompt"


def _wait_for_enter(timeout: float) -> bool:
    import select

    try:
        with open("/dev/tty") as tty:
            ready, _, _ = select.select([tty], [], [], timeout)
            if ready:
                tty.readline()
                return True
            return False
    except OSError:  # no terminal: nobody can confirm
        return False


def driver_for(config) -> Driver:
    """The driver a target's [driver] table describes (duisconf.targets.Driver)."""
    if config.kind == "http":
        return HttpTrigger(config.url)
    if config.kind == "command":
        return CommandLine(config.command, config.restart_command, config.timeout)
    if config.kind == "manual":
        return ManualPrompt(config.timeout)
    raise ConfigError(f"unknown driver kind {config.kind!r}")
