"""Render a DUIS `sr:Request` for any of the 129 SRVs from duisconf's jinja2 templates.

One template per SRV (templates/<SRV>.xml.j2) extends templates/_request.xml.j2 (envelope and header)
and fills the body. Templates are written from the DUIS XSD with duisconf's own default values (see
tools/scaffold_templates.py); every value that is user data is a parameter `p.<DUIS element name>`
with a default, so every SRV renders a complete, XSD-valid request with no parameters at all.

    render_request("8.11", params={"DeviceID": "00db1234567890a4", "RequestType": "Remove"})

Parameter conventions (the same in every template):
 - names are the DUIS element names (`DeviceID`, `InstallCode`, `UTRN`, `FirmwareImage`, …);
 - optional elements are emitted when given (or by default, where the template's shape has them);
   None or "" omits them; empty-typed optional elements (flags) take a boolean;
 - where DCC's RTDS variants differ in an xs:choice or optional structure, a selector parameter picks
   the branch (1.6 PaymentMode=Credit|Prepayment, 8.11 RequestType=Add|Remove, 1.1.1 Fuel/TariffType…);
 - values are XML-escaped (autoescape); booleans render as true/false, datetimes as UTC `…Z`,
   sequences (e.g. DeviceIDList) comma-joined, EUIs in any spelling are normalised.
`template_parameters(srv)` lists a template's parameters with their defaults.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from . import paths
from .duis.model import DCC_EUI, MAX_COUNTER, normalise_eui, service_reference
from .errors import ConfigError, InvalidInput

CANCELLATION_DATETIME = "3000-12-31T00:00:00Z"  # RTDS convention for cancelling a future-dated command (duis.md §1.5)

# Parameters holding one EUI, or a comma-separated list of EUIs: normalised when they parse as EUIs.
_EUI_PARAMS = frozenset({"DeviceID", "OtherDeviceID", "OldCHFID", "OldGPFID", "AssociatedGPFDeviceID"})
_EUI_LIST_PARAMS = frozenset({"DeviceIDList"})
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off", "none"})
_SRV_RE = re.compile(r"^\d+(?:\.\d+){1,2}$")


def _finalize(value: object) -> object:
    """How a Python value prints in XML: booleans as xs:boolean, datetimes in UTC, lists comma-joined."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(str(_finalize(v)) for v in value)
    if value is None:
        return ""
    return value


def _given(value: object) -> bool:
    return value is not None and value != ""


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def _fail(message: str) -> str:
    raise InvalidInput(message)


def _datetime_text(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# ------------------------------------------------------------------------------------------ environment
_lock = threading.Lock()


@dataclass(frozen=True)
class _Compiled:
    template: object  # jinja2.Template
    parameters: dict[str, str]  # name -> default as rendered ("" = omitted unless given)
    future_datable: bool


@lru_cache(maxsize=1)
def _compiled_cache_dir() -> Path | None:
    """Where compiled templates and their parameter lists are kept between runs (each test process
    compiles ~100 templates otherwise: ~3 % of a whole-suite run's CPU). Named after this module's own
    source, jinja2's version and Python's, so a change to any of them (environment options, the parameter
    analysis, the code jinja2 generates) never meets an old entry; a template's own changes are caught by
    its source checksum. None (no caching) when the cache directory cannot be written."""
    import hashlib
    import sys

    import jinja2

    fingerprint = hashlib.sha256(Path(__file__).read_bytes())
    fingerprint.update(f"{jinja2.__version__} {sys.version}".encode())
    try:
        directory = paths.cache_dir() / "templates" / fingerprint.hexdigest()[:16]
        directory.mkdir(parents=True, exist_ok=True)
    except (OSError, ConfigError):
        return None
    return directory if os.access(directory, os.W_OK) else None


def _bytecode_cache(directory: Path):
    """jinja2's FileSystemBytecodeCache (checksummed, written by rename), except that a cache it cannot
    write is no error: rendering goes on, compiling as before."""
    import jinja2

    class TolerantCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return TolerantCache(str(directory))


@lru_cache(maxsize=4)
def _environment(directory: str):
    import jinja2

    cache_dir = _compiled_cache_dir()
    env = jinja2.Environment(
        bytecode_cache=_bytecode_cache(cache_dir) if cache_dir is not None else None,
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        finalize=_finalize,
    )
    env.filters["given"] = _given
    env.filters["flag"] = _flag
    env.globals["fail"] = _fail
    return env


_compiled: dict[tuple[str, str], _Compiled] = {}


def _compile(srv: str) -> _Compiled:
    directory = str(paths.templates_dir())
    key = (directory, srv)
    found = _compiled.get(key)
    if found is not None:
        return found
    import jinja2

    env = _environment(directory)
    name = f"{srv}.xml.j2"
    try:
        source, _, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"no request template for SRV {srv}: {Path(directory) / name} is missing") from None
    try:
        template = env.get_template(name)
        parameters, future_datable = _analysed(env, name, source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{Path(directory) / name}: line {exc.lineno}: {exc.message}") from None
    compiled = _Compiled(template, parameters, future_datable)
    with _lock:
        _compiled[key] = compiled
    return compiled


def _analysed(env, name: str, source: str) -> tuple[dict[str, str], bool]:
    """`_analyse` of the template's source, kept beside its compiled code (keyed by the source's hash)."""
    import hashlib
    import json

    cache_dir = _compiled_cache_dir()
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    path = cache_dir / f"{name}.parameters.json" if cache_dir is not None else None
    if path is not None:
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            if kept["source_sha256"] == digest:
                return dict(kept["parameters"]), bool(kept["future_datable"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or unreadable: analyse again and rewrite it
    parameters, future_datable = _analyse(env.parse(source))
    if path is not None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"source_sha256": digest, "parameters": parameters,
                                       "future_datable": future_datable}), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
    return parameters, future_datable


def _analyse(tree) -> tuple[dict[str, str], bool]:
    """Parameters (`p.<name>`, with the `| default(...)` each use gives) and whether ExecutionDateTime is used."""
    from jinja2 import nodes

    params: dict[str, str] = {}
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "p":
            params.setdefault(node.attr, "")
    for node in tree.find_all(nodes.Filter):
        if (node.name == "default" and isinstance(node.node, nodes.Getattr) and isinstance(node.node.node, nodes.Name)
                and node.node.node.name == "p" and node.args and isinstance(node.args[0], nodes.Const)):
            value = node.args[0].value
            params[node.node.attr] = str(_finalize(value))
    future = any(n.name == "execution_datetime" for n in tree.find_all(nodes.Name))
    return dict(sorted(params.items())), future


# ------------------------------------------------------------------------------------------ identities
@lru_cache(maxsize=4)
def _identities(directory: str) -> dict:
    path = Path(directory) / "reference_identities.toml"
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing (the RTDS reference identities)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _rule(srv: str):
    from .rules import load_catalogue

    return load_catalogue().srv(srv)


def default_originator(srv: str) -> str:
    """The RTDS user for the SRV: its first eligible role's EUI (IS when none is listed).

    7.16 lists no role; its RTDS originator is the load controller, but DCC's signing tool holds no XML
    signing key for it (only a GBCS one, which DCC refuses for XML), so it defaults to the IS too.
    """
    rule = _rule(srv)
    ids = _identities(str(paths.rules_dir()))
    role = rule.eligible_roles[0] if rule.eligible_roles else "IS"
    try:
        return normalise_eui(ids["users"][role])
    except KeyError:
        raise ConfigError(f"reference_identities.toml has no [users] {role} (needed for SRV {srv})") from None


def default_target(srv: str) -> str:
    """The DCC for non-device SRVs, else the RTDS device of the SRV's first device type."""
    rule = _rule(srv)
    ids = _identities(str(paths.rules_dir()))
    if rule.non_device:
        return normalise_eui(ids.get("dcc", DCC_EUI))
    device = rule.device_types[0] if rule.device_types else "ESME"
    try:
        return normalise_eui(ids["devices"][device])
    except KeyError:
        raise ConfigError(f"reference_identities.toml has no [devices] {device} (needed for SRV {srv})") from None


# ------------------------------------------------------------------------------------------ public API
def template_parameters(srv: str) -> dict[str, str]:
    """Parameter name -> its default as rendered ("" for optional elements emitted only when given)."""
    _rule(srv)
    return dict(_compile(srv).parameters)


def _param_value(name: str, value: object) -> object:
    if name in _EUI_PARAMS and isinstance(value, str):
        try:
            return normalise_eui(value)
        except InvalidInput:
            return value  # let the schema say what is wrong (negative tests may want bad values)
    if name in _EUI_LIST_PARAMS:
        items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
        if items is not None:
            out = []
            for item in items:
                try:
                    out.append(normalise_eui(str(item)))
                except InvalidInput:
                    out.append(str(item).strip())
            return ",".join(out)
    return value


@dataclass(frozen=True)
class _Context:
    compiled: _Compiled
    default_cv: int
    originator: str
    target: str
    sr: str


_contexts: dict[tuple[str | None, str | None, str], _Context] = {}


def _context(srv: str) -> _Context:
    """Everything about an SRV that does not change between renders (cached per data-directory setting)."""
    key = (os.environ.get("DUISCONF_RULES"), os.environ.get("DUISCONF_TEMPLATES"), srv)
    found = _contexts.get(key)
    if found is None:
        if not isinstance(srv, str) or not _SRV_RE.match(srv):
            raise InvalidInput(f"unknown SRV {srv!r}: expected a service reference variant such as 4.1.1 or 8.11")
        rule = _rule(srv)
        found = _Context(_compile(srv), rule.default_cv, default_originator(srv), default_target(srv),
                         service_reference(srv))
        with _lock:
            _contexts[key] = found
    return found


def render_request(
    srv: str,
    *,
    originator: str | None = None,
    target: str | None = None,
    counter: int | None = None,
    command_variant: int | None = None,
    execution_datetime: datetime | str | None = None,
    preceding_request_id: str | None = None,
    first_in_sequence: bool | None = None,
    schema_version: str = "5.4",
    params: Mapping[str, object] | None = None,
) -> bytes:
    """A complete `sr:Request` for `srv` (UTF-8 bytes with an XML declaration), unsigned.

    Defaults: originator and target from rules/reference_identities.toml (default_originator /
    default_target), CommandVariant from the SRV catalogue (8 non-device, 4 critical, else 1), counter
    from the counter authority (SRV 2.2: a UTRN counter). `execution_datetime` future-dates the request
    (CANCELLATION_DATETIME cancels); only SRVs whose body type has ExecutionDateTime accept it.
    """
    ctx = _context(srv)
    compiled = ctx.compiled
    values: dict[str, object] = {}
    if params:
        known = compiled.parameters
        for name, value in params.items():
            if name == "ExecutionDateTime":
                if execution_datetime is not None:
                    raise InvalidInput("ExecutionDateTime given twice (as a parameter and as execution_datetime)")
                execution_datetime = value  # type: ignore[assignment]
                continue
            if name not in known:
                raise InvalidInput(f"SRV {srv} has no parameter {name!r} (known: {', '.join(known) or 'none'})")
            values[name] = _param_value(name, value)
    if execution_datetime is not None:
        if not compiled.future_datable:
            raise InvalidInput(f"SRV {srv} cannot be future-dated (its body has no ExecutionDateTime)")
        execution_datetime = _datetime_text(execution_datetime)
    originator = normalise_eui(originator) if originator else ctx.originator
    target = normalise_eui(target) if target else ctx.target
    if counter is None:
        from .counters import default_authority

        authority = default_authority()
        counter = authority.next_utrn(originator) if srv == "2.2" else authority.next(originator)
    elif isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_COUNTER:
        raise InvalidInput(f"originator counter {counter!r} is not an integer in 0..2^64-1")
    cv = ctx.default_cv if command_variant is None else command_variant
    if preceding_request_id is not None:
        from .duis.model import RequestID

        preceding_request_id = str(RequestID.parse(preceding_request_id))
    text = compiled.template.render(
        p=values,
        srv=srv,
        service_reference=ctx.sr,
        request_id=f"{originator}:{target}:{counter}",
        command_variant=cv,
        execution_datetime=execution_datetime,
        preceding_request_id=preceding_request_id,
        first_in_sequence=first_in_sequence,
        schema_version=schema_version,
    )
    return text.encode("utf-8")


__all__ = [
    "CANCELLATION_DATETIME",
    "render_request",
    "template_parameters",
    "default_originator",
    "default_target",
]
