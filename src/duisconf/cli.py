"""The `duisconf` command line: render, sign, verify and validate DUIS messages offline.

XML goes to stdout; one line of reason goes to stderr on failure, with an exit code per kind of
failure (shared with DCC's signing tool where it has one):
  0 ok · 1 internal error (a bug: the line says where; please report it) · 2 usage
  3 missing key material · 4 invalid input · 5 configuration (also a file, directory or port the
  operating system refused) · 6 DCC package missing · 8 target not ready (check-target)
  10 schema failure · 11 signature failure · 12 private key material found, or a file not fully
  scanned (scan-keys) · 13 evidence bundle refused: a scenario did not pass (bundle)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ConfigError, DuisConfError, InvalidInput

EPILOG = "Exit codes: 0 ok, 1 internal error, 2 usage, 3 missing key material, 4 invalid input, 5 configuration, " \
         "6 DCC package missing, 8 target not ready, 10 schema failure, 11 signature failure, 12 key material found, " \
         "13 bundle refused."


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) like every other failure."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 = any free port)")
    return port


def _read_input(name: str) -> tuple[bytes, str]:
    if name == "-":
        return sys.stdin.buffer.read(), "stdin"
    try:
        return Path(name).read_bytes(), name
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read: {exc.strerror}") from None


def _write(data: bytes) -> None:
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
    sys.stdout.flush()


def _schema(args: argparse.Namespace):
    from .duis.schema import load_schema

    return load_schema(args.schema)


def _params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(f"--param {pair!r}: expected NAME=VALUE, e.g. --param InstallCode=0011…")
        params[name.strip()] = value
    return params


def _signing_identity(args: argparse.Namespace, originator: str):
    """The user's own key and certificate when given, else the ZAZ1 key of the originator."""
    if args.key or args.cert:
        if not (args.key and args.cert):
            raise InvalidInput("--key and --cert go together (a PKCS#8 private key and its PEM certificate)")
        from .duis.model import normalise_eui
        from .keystore import Keystore

        identity = Keystore().add_pem(Path(args.cert), Path(args.key))
        if identity.eui and identity.eui != normalise_eui(originator):
            raise InvalidInput(f"{args.cert} is issued to {identity.eui}, but the RequestID originator is {normalise_eui(originator)}")
        return identity
    from .keystore import zaz1

    return zaz1().xml_signing_identity(originator)


def cmd_render(args: argparse.Namespace) -> int:
    from .duis.parse import parse_xml
    from .render import CANCELLATION_DATETIME, render_request

    execution = CANCELLATION_DATETIME if args.execution_datetime == "cancel" else args.execution_datetime
    xml = render_request(args.srv, originator=args.originator, target=args.target, counter=args.counter,
                         command_variant=args.cv, execution_datetime=execution,
                         schema_version=args.schema_version, params=_params(args.param))
    tree = parse_xml(xml, source=f"SRV {args.srv}")
    if not args.no_validate:
        _schema(args).validate(tree, source=f"rendered SRV {args.srv}")
    if args.sign:
        from .signing import request_id_of, sign

        xml = sign(tree, identity=_signing_identity(args, request_id_of(tree.getroot()).originator))
    _write(xml)
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from .duis.parse import parse_xml
    from .signing import request_id_of, sign

    data, source = _read_input(args.file)
    tree = parse_xml(data, source=source)
    root = tree.getroot()
    request_id = request_id_of(root)
    if args.new_counter:
        from .counters import default_authority
        from .duis.model import SR_NS, RequestID

        srv = root.findtext(f"{{{SR_NS}}}Header/{{{SR_NS}}}ServiceReferenceVariant")
        authority = default_authority()
        counter = authority.next_utrn(request_id.originator) if srv == "2.2" else authority.next(request_id.originator)
        request_id = RequestID(request_id.originator, request_id.target, counter)
        root.find(f"{{{SR_NS}}}Header/{{{SR_NS}}}RequestID").text = str(request_id)
    _schema(args).validate(tree, source=source)
    _write(sign(tree, identity=_signing_identity(args, request_id.originator), source=source))
    return 0


def cmd_counters(args: argparse.Namespace) -> int:
    """Show each originator's counter, or set a floor to resynchronise one whose record was lost."""
    from .counters import default_authority
    from .duis.model import normalise_eui

    authority = default_authority()
    if args.action == "set-floor":
        floor = authority.set_floor(args.originator, _counter_value(args.value))
        print(f"{normalise_eui(args.originator)}: high-water mark {floor}; the next counter is above it", file=sys.stderr)
        return 0
    leads = authority.leads()
    for lead in leads:
        print(lead.line())
    if not leads:
        print(f"no originator counters in {authority.directory}", file=sys.stderr)
    return 5 if any(lead.problem for lead in leads) else 0


def _counter_value(text: str) -> int:
    if text == "now":
        import time

        return time.time_ns() // 1_000_000
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput(f"counter floor {text!r}: expected a decimal counter or 'now' (epoch milliseconds)")
    return int(text)


def cmd_verify(args: argparse.Namespace) -> int:
    from lxml import etree

    from .duis.parse import local_name, parse_xml
    from .keystore import load_certificate_file, trusted_paths_from_env, zaz1
    from .signing import request_trust, response_trust, verify

    data, source = _read_input(args.file)
    tree = parse_xml(data, source=source)
    _schema(args).validate(tree, source=source)
    extra = [c for p in [*map(Path, args.trust), *trusted_paths_from_env()] for c in load_certificate_file(p)]
    is_request = local_name(tree.getroot()) == "Request"
    trust = request_trust(zaz1(), extra) if is_request else response_trust(zaz1(), extra)
    verified = verify(tree, trust, source=source, check_validity=args.check_validity)
    if verified.signer is None:
        print(f"{source}: unsigned error acknowledgement (tolerated)", file=sys.stderr)
    else:
        print(f"{source}: signature verified: {verified.signer}", file=sys.stderr)
    _write(etree.tostring(verified.root, xml_declaration=True, encoding="UTF-8"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .duis.parse import parse_xml

    data, source = _read_input(args.file)
    schema = _schema(args)
    schema.validate(parse_xml(data, source=source), source=source)
    print(f"{source}: valid against DUIS {schema.version} ({schema.source})", file=sys.stderr)
    return 0


def cmd_check_target(args: argparse.Namespace) -> int:
    from .check_target import check_target

    checks = check_target(args.target)
    for check in checks:
        print(check.line(), flush=True)
    return 0 if all(c.ok for c in checks) else 8


def cmd_scan_keys(args: argparse.Namespace) -> int:
    from .evidence import key_material_in
    from .keystore import zaz1

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:  # a typo must not pass as "nothing found"
        print(f"duisconf scan-keys: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = key_material_in(paths, zaz1(), extra_keys=_target_private_keys(args.target) if args.target else ())
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        print(f"no private key material in {', '.join(args.paths)}")
    return 12 if found else 0


def _target_private_keys(name: str) -> list[tuple[object, str]]:
    """The private keys a target file names ([keys] signing keys, [tls] client_key), loaded to be looked for."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

    from .targets import load_target

    target = load_target(name)
    files = [key.private_key for key in target.keys.values()] + [p for p in [target.tls_client_key] if p]
    keys = []
    for path in files:
        data = path.read_bytes()
        try:
            keys.append((load_pem_private_key(data, None) if b"-----BEGIN" in data else load_der_private_key(data, None),
                         str(path)))
        except (ValueError, TypeError):
            raise ConfigError(f"{target.source}: {path}: not an unencrypted private key, so it cannot be looked for") from None
    return keys


def cmd_emulator(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from .emulator.config import EmulatorConfig, load_config
    from .emulator.server import DCCEmulator

    config = load_config(Path(args.config)) if args.config else EmulatorConfig()
    for name in ("host", "port", "receive_url", "latency"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    config.control = config.control or args.control
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    emulator = DCCEmulator(host=config.host, port=config.port, inventory=config.inventory(),
                           receive_url=config.receive_url, latency=config.latency, control=config.control,
                           identity_seed=config.identity_seed, smki_port=config.smki_port)
    try:
        emulator.start()
    except (OSError, OverflowError) as exc:  # in use, not an address of this host, or not allowed
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    print(f"DCC emulator on {emulator.url}/api/v1/serviceS|serviceT|serviceD"
          + (f"; control plane on {emulator.url}/control/" if config.control else ""), file=sys.stderr, flush=True)
    print(f"SMKI interface (device certificates) on {emulator.smki_url}services/certificatesearch|retrievecertificate",
          file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="duisconf", description="DUIS conformance suite tools.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"duisconf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    schema_option = _Parser(add_help=False)
    schema_option.add_argument("--schema", metavar="PATH", default=os.environ.get("DUISCONF_SCHEMA"),
                               help="DUIS XSD to use, e.g. DCC's 'DUIS Schema V5.4.xsd' beside its MMC twin "
                                    "(env DUISCONF_SCHEMA; default DUIS 5.1 from DCC's signing tool)")
    key_options = _Parser(add_help=False)
    key_options.add_argument("--key", metavar="PEM", help="your own PKCS#8 private key (default: the ZAZ1 key of the originator)")
    key_options.add_argument("--cert", metavar="PEM", help="the certificate that goes with --key")

    render = commands.add_parser("render", parents=[schema_option, key_options], epilog=EPILOG,
                                 help="render a request for an SRV from its template")
    render.add_argument("srv", metavar="SRV", help="service reference variant, e.g. 4.1.1, 8.11")
    render.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                        help="a body value by its DUIS element name (repeatable)")
    render.add_argument("--originator", metavar="EUI", help="business originator (default: the RTDS user for the SRV's role)")
    render.add_argument("--target", metavar="EUI", help="business target (default: the RTDS device, or the DCC)")
    render.add_argument("--counter", type=int, metavar="N", help="originator counter (default: next from the counter authority)")
    render.add_argument("--cv", type=int, metavar="N", help="CommandVariant (default: 8 non-device, 4 critical, 1 otherwise)")
    render.add_argument("--execution-datetime", metavar="ISO|cancel", help="future-date the request; 'cancel' = 3000-12-31T00:00:00Z")
    render.add_argument("--schema-version", default="5.4", help="root schemaVersion attribute (default 5.4)")
    render.add_argument("--sign", action="store_true", help="sign the rendered request")
    render.add_argument("--no-validate", action="store_true", help="skip schema validation of the result")
    render.set_defaults(func=cmd_render)

    sign = commands.add_parser("sign", parents=[schema_option, key_options], epilog=EPILOG,
                               help="schema-validate and sign a request (key chosen by the RequestID originator)")
    sign.add_argument("file", metavar="FILE", help="request XML, or - for stdin")
    sign.add_argument("--new-counter", action="store_true",
                      help="replace the counter with the next one from the counter authority (UTRN rule for 2.2); "
                           "by default the counter is preserved")
    sign.set_defaults(func=cmd_sign)

    counters = commands.add_parser("counters", epilog=EPILOG,
                                   help="originator counters: show how far each is ahead of the clock, or set a floor "
                                        "after the state was lost (see docs/harness.md)")
    counter_actions = counters.add_subparsers(dest="action", required=True, metavar="ACTION")
    counter_actions.add_parser("show", help="each originator's last counter and how far it is ahead of the clock; "
                                            "exit 5 if a record is lost or damaged")
    floor = counter_actions.add_parser("set-floor", help="resynchronise an originator whose counter record was lost")
    floor.add_argument("originator", metavar="ORIGINATOR", help="the originator EUI")
    floor.add_argument("value", metavar="VALUE", help="at or above the last counter the DCC has seen from it, or 'now'")
    counters.set_defaults(func=cmd_counters)

    verify = commands.add_parser("verify", parents=[schema_option], epilog=EPILOG,
                                 help="schema-validate and verify a signed response (or request); print it unsigned")
    verify.add_argument("file", metavar="FILE", help="signed XML, or - for stdin")
    verify.add_argument("--trust", action="append", default=[], metavar="PEM",
                        help="also trust the certificates in this PEM file (repeatable; env DUISCONF_TRUST)")
    verify.add_argument("--check-validity", action="store_true", help="enforce certificate validity dates (ZAZ1 certificates have expired)")
    verify.set_defaults(func=cmd_verify)

    validate = commands.add_parser("validate", parents=[schema_option], epilog=EPILOG,
                                   help="validate XML against the DUIS schema")
    validate.add_argument("file", metavar="FILE", help="XML, or - for stdin")
    validate.set_defaults(func=cmd_validate)

    check = commands.add_parser("check-target", epilog=EPILOG,
                                help="check a target before a run (config, keys, endpoints, receive address) "
                                     "without sending anything state-changing; exit 8 when a check fails")
    check.add_argument("target", help="target name (targets/NAME.toml) or path to a target file")
    check.set_defaults(func=cmd_check_target)

    scan = commands.add_parser("scan-keys", epilog=EPILOG,
                               help="look for private key material (any PEM private key block; the ZAZ1 keys and "
                                    "--target's keys as DER, raw, hex, colon-hex, base64 or decimal; inside gzip "
                                    "files too) in files and directory trees; exit 12 if any is found or a file "
                                    "cannot be scanned, 2 if a path does not exist")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files or directories, e.g. reports")
    scan.add_argument("--target", metavar="NAME|PATH", help="also look for this target file's own private keys")
    scan.set_defaults(func=cmd_scan_keys)

    emulator = commands.add_parser("emulator", epilog=EPILOG,
                                   help="run the embedded DCC emulator standalone (a DCC Boxed look-alike)")
    emulator.add_argument("--config", metavar="FILE", help="TOML file: [emulator], [[users]], [[devices]]")
    emulator.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    emulator.add_argument("--port", type=_port, help="port (default 8079, as DCC Boxed; 0 = any free port)")
    emulator.add_argument("--receive-url", metavar="URL",
                          help="Receive Response Service for every user that has none configured")
    emulator.add_argument("--latency", type=float, metavar="SECONDS", help="delay before asynchronous messages leave")
    emulator.add_argument("--control", action="store_true", help="enable the JSON control plane under /control/")
    emulator.set_defaults(func=cmd_emulator)

    plan = commands.add_parser("plan", epilog=EPILOG,
                               help="list the catalogue scenarios a declaration makes applicable, and the others "
                                    "with the reason, without sending anything")
    plan.add_argument("--declaration", required=True, metavar="FILE", help="the party's declaration (declarations/*.toml)")
    plan.add_argument("--against", metavar="FILE", help="another declaration: show the coverage gained and lost")
    plan.add_argument("--summary", action="store_true", help="counts per SRV and per reason, not every scenario")
    plan.set_defaults(func=cmd_plan)

    from .bundle import add_parser as add_bundle_parser

    add_bundle_parser(commands, EPILOG)

    coverage = commands.add_parser("coverage", epilog=EPILOG,
                                   help="coverage per clause (DUIS SRV, access check, GBCS use case, design note, "
                                        "SEC Appendix R heading): which scenarios check it, their verdicts, and why "
                                        "a clause has no check (docs/clauses.md)")
    coverage.add_argument("--results", metavar="DIR", help="verdicts of a run: an Allure results folder or a JUnit XML file")
    coverage.add_argument("--declaration", metavar="FILE", help="count only the scenarios this declaration makes applicable")
    coverage.add_argument("--json", action="store_true", help="the full document (as reports/clauses.json)")
    coverage.add_argument("--verbose", "-v", action="store_true", help="list each clause's scenarios")
    coverage.set_defaults(func=cmd_coverage)

    from .merge import add_parser as add_merge_parser

    add_merge_parser(commands, EPILOG)

    from .gbcs.cli import add_parser as add_gbcs_parser

    add_gbcs_parser(commands, EPILOG)
    return parser


def cmd_plan(args: argparse.Namespace) -> int:
    """Which generated catalogue scenarios apply to a declaration, and why not the others (no traffic)."""
    from .declarations import load_declaration
    from .plan import make_plan, render_diff, render_plan

    plan = make_plan(load_declaration(args.declaration))
    sys.stdout.write(render_plan(plan, verbose=not args.summary))
    if args.against:
        sys.stdout.write("\n" + render_diff(plan, make_plan(load_declaration(args.against))))
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Coverage per clause of the whole features tree, with a run's verdicts when given (no traffic)."""
    import json

    from .clauses import build, read_results, render
    from .declarations import load_declaration

    declaration = load_declaration(args.declaration) if args.declaration else None
    document = build(declaration=declaration, verdicts=read_results(args.results) if args.results else None)
    sys.stdout.write(json.dumps(document, indent=2) + "\n" if args.json else render(document, verbose=args.verbose))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DuisConfError as exc:
        print(f"duisconf: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file, directory or socket the operating system refused: the user can act on it
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"duisconf: {where}{exc.strerror or exc}", file=sys.stderr)
        return ConfigError.exit_code
    except Exception as exc:  # a bug in duisconf, not in the input: say so and where, keep it to one line
        if os.environ.get("DUISCONF_DEBUG"):
            raise
        print(f"duisconf: internal error: {type(exc).__name__}: {exc} ({_where(exc)}; please report it, "
              "with DUISCONF_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _where(exc: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    package = Path(__file__).resolve().parent
    try:
        name = str(Path(last.filename).resolve().relative_to(package.parent))
    except ValueError:
        name = last.filename
    return f"{name}:{last.lineno} in {last.name}"


if __name__ == "__main__":
    sys.exit(main())
