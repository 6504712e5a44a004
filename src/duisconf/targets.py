"""Targets: what the suite talks to, as data in targets/*.toml.

    kind = "emulator"   the embedded DCC emulator, started for the session (default)
    kind = "dccboxed"   a DCC Boxed kit on the LAN
    kind = "dcc"        a DCC test environment (TLS client certificate, your own keys)
    kind = "user-system" the party's own DCC user system under test: the embedded emulator plays its DCC and
                        judges what it sends ([user_system], [organisations."EUI"], [driver]; docs/user-system.md)

TLS (`[tls]`, for an https base_url): `ca` is the only CA the target's server certificate is checked
against, whatever REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE say; without it, requests' default CA bundle (or
those variables) is used. Verification is never turned off. `client_certificate` and `client_key` (PEM,
key unencrypted) are presented when the server asks for a client certificate (DCCKI).

A target file is validated on load; every error names the file, the key and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from . import paths
from .duis.model import normalise_eui
from .errors import ConfigError, InvalidInput
from .toml_file import read_toml

KINDS = ("emulator", "dccboxed", "dcc", "user-system")
DRIVER_KINDS = ("http", "command", "manual")
ROLES = ("IS", "ES", "GS", "ED", "GT", "RSA", "OU")
DEVICE_TYPES = ("ESME", "GSME", "CHF", "GPF", "PPMID", "IHD", "HCALCS", "CAD")
TIMEOUT_KEYS = ("acknowledgement", "on_demand", "future_dated", "alert", "quiet", "lease")


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait, per response pattern (a timeout is inconclusive, never a plain failure)."""

    acknowledgement: float = 10.0
    on_demand: float = 30.0
    future_dated: float = 60.0
    alert: float = 30.0
    quiet: float = 2.0
    lease: float = 60.0  # how long a scenario waits for a device another scenario holds


@dataclass(frozen=True)
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    path: str = "/duis"
    public_url: str | None = None  # what the target POSTs to, when it differs from where we listen


@dataclass(frozen=True)
class UserKey:
    certificate: Path
    private_key: Path


@dataclass(frozen=True)
class Organisation:
    """One of the party's organisations: its EUI, the user roles it holds, and its certificates (PEM; the
    emulated DCC verifies its XML signatures and its pre-command (GBCS DS) signatures with them; the emulated
    devices MAC to its GBCS KA key and check its UTRNs with its prepayment KA key, a supplier's `-pp` pair)."""

    eui: str
    roles: tuple[str, ...]
    xml_signing_certificate: Path
    gbcs_signing_certificate: Path
    gbcs_key_agreement_certificate: Path | None = None
    gbcs_prepayment_key_agreement_certificate: Path | None = None


@dataclass(frozen=True)
class Driver:
    """How the suite asks the party's system to act (duisconf.user_system.drivers)."""

    kind: str                       # http | command | manual
    url: str | None = None          # http: the adapter's trigger URL
    command: str | None = None      # command: a template with {srv} {device} {parameters} … placeholders
    restart_command: str | None = None  # command: how to restart their system (optional)
    timeout: float = 30.0           # seconds for the requests an order causes to reach the DCC


@dataclass(frozen=True)
class UserSystem:
    """[user_system], [organisations] and [driver] of a user-system target."""

    receive_url: str                # their Receive Response Service
    organisations: dict[str, Organisation]
    driver: Driver
    state: Path | None = None       # where the judge keeps each originator's last counter
    smki_port: int = 0              # the emulated DCC's SMKI interface (device certificates); 0: any free port


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    source: Path
    base_url: str | None = None          # dccboxed / dcc: where serviceS|T|D live
    schema: Path | None = None
    emulator_port: int = 0
    emulator_latency: float = 0.0
    receiver: Receiver = field(default_factory=Receiver)
    timeouts: Timeouts = field(default_factory=Timeouts)
    users: dict[str, str] = field(default_factory=dict)       # role code -> EUI
    devices: dict[str, str] = field(default_factory=dict)     # device type -> EUI
    keys: dict[str, UserKey] = field(default_factory=dict)    # EUI -> own key material (else ZAZ1)
    tls_client_certificate: Path | None = None
    tls_client_key: Path | None = None
    tls_ca: Path | None = None
    smki_base_url: str | None = None     # [smki] base_url: a DCC Boxed kit's SMKI interface (device certificates)
    user_system: UserSystem | None = None  # kind user-system: the party's system under test
    emulator_host: str = "127.0.0.1"     # user-system: where the emulated DCC listens for their system

    @property
    def tls_verify(self) -> str | bool:
        """What the server certificate is checked against: the target's CA file, else True (the default store)."""
        return str(self.tls_ca) if self.tls_ca else True

    @property
    def tls_client_pair(self) -> tuple[str, str] | None:
        """(certificate, key) PEM files to present when the server asks for a client certificate."""
        if self.tls_client_certificate and self.tls_client_key:
            return str(self.tls_client_certificate), str(self.tls_client_key)
        return None

    def service_url(self, service: str) -> str:
        if not self.base_url:
            raise InvalidInput(f"target {self.name}: no base_url (the emulator's is known only once it runs)")
        return f"{self.base_url.rstrip('/')}/api/v1/{service}"


def targets_dir() -> Path:
    return paths.PROJECT_ROOT / "targets"


def resolve(name_or_path: str) -> Path:
    """A target by name (targets/NAME.toml) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"target file not found: {candidate}")
        return candidate
    path = targets_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in targets_dir().glob("*.toml")))
        raise ConfigError(f"no target named {name_or_path!r} (known: {known}; or give a path to a .toml file)")
    return path


class _Reader:
    """Typed access to one table of a target file, with errors that name the file and key."""

    def __init__(self, source: Path, table: str, data: dict, allowed: tuple[str, ...]):
        self.source, self.table, self.data = source, table, data
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: [{table}] must be a table")
        unknown = set(data) - set(allowed)
        if unknown:
            raise ConfigError(f"{source}: [{table}] unknown key(s) {', '.join(sorted(unknown))} (expected {', '.join(allowed)})")

    def get(self, key: str, kind: type | tuple[type, ...], default: object = None) -> object:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))):
            expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise ConfigError(f"{self.source}: [{self.table}] {key} = {value!r}: expected {expected}")
        return value

    def path(self, key: str) -> Path | None:
        value = self.get(key, str)
        if not value:
            return None
        path = (self.source.parent / str(value)).resolve()
        if not path.exists():
            raise ConfigError(f"{self.source}: [{self.table}] {key} = {value!r}: no such file ({path})")
        return path

    def url(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, str)
        if not value:
            if required:
                raise ConfigError(f"{self.source}: [{self.table}] {key} is required (e.g. http://dccboxed:8079)")
            return None
        parsed = urlparse(str(value))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"{self.source}: [{self.table}] {key} = {value!r}: expected an http(s) URL")
        return str(value)


def load_target(name_or_path: str) -> Target:
    source = resolve(name_or_path)
    data = read_toml(source, "target file")
    tables = ("target", "emulator", "receiver", "timeouts", "users", "devices", "keys", "tls", "smki",
              "user_system", "organisations", "driver")
    unknown = set(data) - set(tables)
    if unknown:
        raise ConfigError(f"{source}: unknown table(s) {', '.join(sorted(unknown))} (expected {', '.join(tables)})")
    head = _Reader(source, "target", data.get("target", {}), ("name", "kind", "base_url", "schema"))
    kind = head.get("kind", str, "emulator")
    if kind not in KINDS:
        raise ConfigError(f"{source}: [target] kind = {kind!r}: expected one of {', '.join(KINDS)}")
    base_url = head.url("base_url", required=kind not in ("emulator", "user-system"))
    user_system = _user_system(source, data) if kind == "user-system" else None
    if user_system is None:
        for table in ("user_system", "organisations", "driver"):
            if table in data:
                raise ConfigError(f"{source}: [{table}] is only for kind = \"user-system\" (this target is {kind})")

    emulator = _Reader(source, "emulator", data.get("emulator", {}),
                       ("port", "latency", "host") if kind == "user-system" else ("port", "latency"))
    receiver_table = _Reader(source, "receiver", data.get("receiver", {}), ("host", "port", "path", "public_url"))
    receiver = Receiver(receiver_table.get("host", str, "127.0.0.1"), int(receiver_table.get("port", int, 0)),
                        str(receiver_table.get("path", str, "/duis")), receiver_table.url("public_url"))
    if kind not in ("emulator", "user-system") and receiver.public_url is None and receiver.host in ("127.0.0.1", "localhost"):
        raise ConfigError(f"{source}: [receiver] public_url is required for a {kind} target: the address the kit must "
                          "POST responses to (e.g. http://192.168.0.5:8080/duis), reachable from the kit")
    timeouts_table = _Reader(source, "timeouts", data.get("timeouts", {}), TIMEOUT_KEYS)
    timeouts = Timeouts(**{k: float(timeouts_table.get(k, (int, float), getattr(Timeouts, k))) for k in TIMEOUT_KEYS})
    for key in TIMEOUT_KEYS:
        if getattr(timeouts, key) <= 0:
            raise ConfigError(f"{source}: [timeouts] {key} must be positive")

    users = _euis(source, "users", data.get("users", {}), ROLES)
    if user_system is not None:  # who plays each role: the party's organisations, unless [users] says
        for eui, organisation in user_system.organisations.items():
            for role in organisation.roles:
                users.setdefault(role, eui)
    devices = _euis(source, "devices", data.get("devices", {}), DEVICE_TYPES)
    keys = {}
    for eui, entry in data.get("keys", {}).items():
        table = _Reader(source, f"keys.\"{eui}\"", entry, ("certificate", "private_key"))
        certificate, private_key = table.path("certificate"), table.path("private_key")
        if certificate is None or private_key is None:
            raise ConfigError(f"{source}: [keys.\"{eui}\"] needs certificate and private_key (PEM files)")
        keys[_eui(source, "keys", eui, eui)] = UserKey(certificate, private_key)
    tls = _Reader(source, "tls", data.get("tls", {}), ("client_certificate", "client_key", "ca"))
    client_certificate, client_key, ca = _tls(source, tls, base_url)
    return Target(str(head.get("name", str, source.stem)), str(kind), source, base_url, head.path("schema"),
                  int(emulator.get("port", int, 0)), float(emulator.get("latency", (int, float), 0.0)),
                  receiver, timeouts, users, devices, keys, client_certificate, client_key, ca,
                  _Reader(source, "smki", data.get("smki", {}), ("base_url",)).url("base_url"), user_system,
                  str(emulator.get("host", str, "127.0.0.1")))


def _pem_certificate(source: Path, table: _Reader, key: str) -> Path:
    path = table.path(key)
    if path is None:
        raise ConfigError(f"{source}: [{table.table}] {key} is required (a PEM certificate file)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: [{table.table}] {key}: cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(f"{source}: [{table.table}] {key}: {path} holds no PEM certificate")
    if b"PRIVATE KEY-----" in data:
        raise ConfigError(f"{source}: [{table.table}] {key}: {path} holds a private key; the DCC needs only "
                          "the certificate (keep the key with your system)")
    return path


def _user_system(source: Path, data: dict) -> UserSystem:
    """[user_system], [organisations."EUI"] and [driver] of a user-system target, each checked."""
    head = _Reader(source, "user_system", data.get("user_system", {}), ("receive_url", "state", "smki_port"))
    smki_port = head.get("smki_port", int, 0)
    if not 0 <= smki_port <= 65535:
        raise ConfigError(f"{source}: [user_system] smki_port = {smki_port}: expected a TCP port (0: any free one)")
    receive_url = head.url("receive_url")
    if receive_url is None:
        raise ConfigError(f"{source}: [user_system] receive_url is required: your Receive Response Service, "
                          "where the emulated DCC POSTs responses and alerts (e.g. http://127.0.0.1:9100/duis)")
    state = head.get("state", str)
    organisations: dict[str, Organisation] = {}
    table = data.get("organisations", {})
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{source}: [organisations.\"EUI\"] is required: at least one of your organisations "
                          "(roles, xml_signing_certificate, gbcs_signing_certificate)")
    for key, entry in table.items():
        name = f"organisations.\"{key}\""
        reader = _Reader(source, name, entry, ("roles", "xml_signing_certificate", "gbcs_signing_certificate",
                                               "gbcs_key_agreement_certificate",
                                               "gbcs_prepayment_key_agreement_certificate"))
        eui = _eui(source, "organisations", key, key)
        roles = reader.get("roles", list, [])
        if not roles or any(role not in ROLES for role in roles):
            raise ConfigError(f"{source}: [{name}] roles = {roles!r}: expected a non-empty list of {', '.join(ROLES)}")
        ka, prepayment = (_ka_certificate(source, reader, key) for key in (
            "gbcs_key_agreement_certificate", "gbcs_prepayment_key_agreement_certificate"))
        if prepayment is not None and not set(roles) & {"IS", "ES", "GS"}:
            raise ConfigError(f"{source}: [{name}] gbcs_prepayment_key_agreement_certificate: only a supplier (IS, ES, "
                              f"GS) has a prepayment KA key; roles are {roles!r}")
        organisations[eui] = Organisation(eui, tuple(roles), _pem_certificate(source, reader, "xml_signing_certificate"),
                                          _pem_certificate(source, reader, "gbcs_signing_certificate"), ka, prepayment)
    driver_table = _Reader(source, "driver", data.get("driver", {}), ("kind", "url", "command", "restart_command", "timeout"))
    driver_kind = driver_table.get("kind", str)
    if driver_kind not in DRIVER_KINDS:
        raise ConfigError(f"{source}: [driver] kind = {driver_kind!r}: expected one of {', '.join(DRIVER_KINDS)}")
    url = driver_table.url("url") if driver_kind == "http" else None
    if driver_kind == "http" and url is None:
        raise ConfigError(f"{source}: [driver] url is required for the http driver: your adapter's trigger URL")
    command = driver_table.get("command", str)
    if driver_kind == "command" and not command:
        raise ConfigError(f"{source}: [driver] command is required for the command driver "
                          "(a template such as \"my-hes send {srv} {device} {parameters}\")")
    timeout = float(driver_table.get("timeout", (int, float), 30.0))
    if timeout <= 0:
        raise ConfigError(f"{source}: [driver] timeout must be positive")
    if command:
        from .user_system.drivers import check_template

        check_template(source, "command", str(command))
    restart = driver_table.get("restart_command", str)
    if restart:
        from .user_system.drivers import check_template

        check_template(source, "restart_command", str(restart))
    return UserSystem(receive_url, organisations,
                      Driver(str(driver_kind), url, str(command) if command else None, str(restart) if restart else None,
                             timeout),
                      (source.parent / str(state)).resolve() if state else None, int(smki_port))


def _ka_certificate(source: Path, table: _Reader, key: str) -> Path | None:
    """An optional GBCS key-agreement certificate: PEM, a P-256 key, key usage keyAgreement (the DS one
    signs, the KA one agrees keys: swapping them would make every MAC and UTRN check fail)."""
    if table.get(key, str) is None:
        return None
    path = _pem_certificate(source, table, key)
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise ConfigError(f"{source}: [{table.table}] {key}: {path} is not a readable X.509 certificate ({exc})") from None
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise ConfigError(f"{source}: [{table.table}] {key}: {path} does not hold a P-256 (secp256r1) key, as GBCS needs")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_agreement:
        raise ConfigError(f"{source}: [{table.table}] {key}: {path} is not a key-agreement certificate (its key usage "
                          "lacks keyAgreement): give the GBCS KA certificate, not the DS one")
    return path


def _tls(source: Path, tls: _Reader, base_url: str | None) -> tuple[Path | None, Path | None, Path | None]:
    """The [tls] files, checked enough that a mistake shows here rather than as a handshake failure."""
    certificate, key, ca = tls.path("client_certificate"), tls.path("client_key"), tls.path("ca")
    if not tls.data:
        return None, None, None
    if not (base_url or "").startswith("https://"):
        raise ConfigError(f"{source}: [tls] is given but [target] base_url is not an https URL")
    if (certificate is None) != (key is None):
        raise ConfigError(f"{source}: [tls] client_certificate and client_key go together (PEM files)")
    for name, path, marker in (("ca", ca, b"-----BEGIN CERTIFICATE-----"),
                               ("client_certificate", certificate, b"-----BEGIN CERTIFICATE-----"),
                               ("client_key", key, b"PRIVATE KEY-----")):
        if path is None or path.is_dir() and name == "ca":  # a directory of hashed CA files is fine too
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{source}: [tls] {name}: cannot read {path}: {exc.strerror}") from None
        if marker not in data:
            what = "PEM private key" if name == "client_key" else "PEM certificate"
            raise ConfigError(f"{source}: [tls] {name}: {path} holds no {what}")
        if name == "client_key" and b"ENCRYPTED" in data:
            raise ConfigError(f"{source}: [tls] client_key: {path} is encrypted; give an unencrypted PEM key "
                              "(kept outside the repository, readable only by you)")
    return certificate, key, ca


def _eui(source: Path, table: str, key: str, value: object) -> str:
    try:
        return normalise_eui(str(value))
    except InvalidInput:
        raise ConfigError(f"{source}: [{table}] {key} = {value!r}: expected an EUI-64 like 90-B3-D5-1F-30-01-00-00") from None


def _euis(source: Path, table: str, data: dict, allowed: tuple[str, ...]) -> dict[str, str]:
    _Reader(source, table, data, allowed)
    return {key: _eui(source, table, key, value) for key, value in data.items()}
