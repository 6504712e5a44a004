"""Validating DUIS messages against a DUIS XSD with lxml (≈13 µs per request; xmlschema is ~70× slower).

libxml2 cannot follow an `xs:import` whose file name contains spaces, and DCC publishes its schemas as
"DUIS Schema V5.4.xsd" beside "MMC Schema V5.4.xsd". So every schema is first copied into a cache with
space-free names and its imports rewritten; DOCTYPEs are stripped on the way (the W3C xmldsig schema
carries one) so that loading a schema never resolves an entity or touches the network.

Default schema: the DUIS 5.1 XSD inside DCC's signing tool (`tool.jar` of @smartdcc/duis-sign-wrap).
Override with a path (CLI `--schema`, env DUISCONF_SCHEMA), e.g. DCC's DUIS 5.4 files as published.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zipfile
from functools import lru_cache
from pathlib import Path

from lxml import etree

from .. import paths
from ..errors import ConfigError, SchemaInvalid
from .model import DS_NS

XS_NS = "http://www.w3.org/2001/XMLSchema"
JAR_SCHEMA = "DUIS Schema V5.1.xsd"
JAR_FILES = (JAR_SCHEMA, "MMC Schema V5.1.xsd", "xmldsig-core-schema.xsd")
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", re.S)
_LOCATION_RE = re.compile(rb'schemaLocation="([^"]+)"')
_VERSION_RE = re.compile(r"DUIS XML Schema Version - Request\s*-\s*([0-9.]+)")


def _space_free(name: str) -> str:
    return name.replace(" ", "_")


def _strip_doctype(data: bytes, source: Path) -> bytes:
    stripped = _DOCTYPE_RE.sub(b"", data, count=1)
    if re.search(rb"&(?!lt;|gt;|amp;|quot;|apos;|#)[A-Za-z_][\w.-]*;", stripped):
        raise ConfigError(f"{source}: schema uses entity references, which duisconf never resolves")
    return stripped


def _jar_dir() -> Path:
    """The three schema files of DCC's signing tool, extracted once into the cache (keyed by jar content)."""
    jar = paths.signing_tool_jar()
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()[:16]
    target = paths.cache_dir() / "schemas" / f"jar-{digest}"
    if not (target / _space_free(JAR_SCHEMA)).exists():
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(jar) as archive:
            for name in JAR_FILES:
                (staging / name).write_bytes(archive.read(name))
        _copy_tree(staging / JAR_SCHEMA, target)
    return target


def default_schema_path() -> Path:
    """Where the default (DUIS 5.1, from DCC's signing tool) lives once extracted."""
    return _jar_dir() / _space_free(JAR_SCHEMA)


def _copy_tree(main: Path, target: Path) -> Path:
    """Copy `main` and every schema it imports (recursively) into `target`, space-free and DOCTYPE-free."""
    target.mkdir(parents=True, exist_ok=True)
    todo, seen = [main], set()
    while todo:
        source = todo.pop()
        if source in seen:
            continue
        seen.add(source)
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the schema: {exc.strerror}") from None
        data = _strip_doctype(raw, source)

        def rewrite(match: re.Match[bytes], source: Path = source) -> bytes:
            location = match.group(1).decode()
            if "://" in location:
                raise ConfigError(f"{source}: imports {location!r} from the network; give a local file instead")
            imported = source.parent / location
            if not imported.exists():
                fallback = _w3c_fallback(location)
                if fallback is None:
                    raise ConfigError(
                        f"{source}: imports {location!r}, which is not in {source.parent} "
                        "(DCC publishes the DUIS and MMC schemas side by side; put both there)"
                    )
                imported = fallback
            todo.append(imported)
            return b'schemaLocation="' + _space_free(imported.name).encode() + b'"'

        data = _LOCATION_RE.sub(rewrite, data)
        out = target / _space_free(source.name)
        tmp = out.with_suffix(out.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out)
    return target / _space_free(main.name)


def _w3c_fallback(location: str) -> Path | None:
    """The W3C xmldsig schema is not always published beside DUIS; use the copy from DCC's tool."""
    if Path(location).name == "xmldsig-core-schema.xsd":
        return _jar_dir() / "xmldsig-core-schema.xsd"
    return None


class Schema:
    """A compiled DUIS XSD. `validate` raises SchemaInvalid with the line and the reason."""

    def __init__(self, source: Path, compiled_path: Path):
        self.source = source
        self.compiled_path = compiled_path
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            self._doc = etree.parse(str(compiled_path), parser)
        except etree.XMLSyntaxError as exc:
            raise ConfigError(f"{source}: not an XML schema ({exc.msg})") from None
        try:
            self._xsd = etree.XMLSchema(self._doc)
        except etree.XMLSchemaParseError as exc:
            raise ConfigError(f"{source}: not a usable XML schema: {exc}") from None
        # lxml validators keep an error log per object: serialise use across threads (validation is µs).
        self._lock = threading.Lock()
        match = _VERSION_RE.search(compiled_path.read_text(encoding="utf-8", errors="replace")[:4000])
        name_version = re.search(r"V(\d+\.\d+)", source.name)
        self.version = match.group(1) if match else (name_version.group(1) if name_version else "unknown")

    def __repr__(self) -> str:
        return f"Schema(version={self.version!r}, source={str(self.source)!r})"

    def validate(self, document: etree._ElementTree | etree._Element, *, source: str = "document") -> None:
        with self._lock:
            if self._xsd.validate(document):
                return
            error = self._xsd.error_log.last_error
        raise SchemaInvalid(f"{source}: line {error.line}: {error.message}")

    def is_valid(self, document: etree._ElementTree | etree._Element) -> bool:
        with self._lock:
            return bool(self._xsd.validate(document))

    @lru_cache(maxsize=None)
    def enumeration(self, type_name: str) -> tuple[str, ...]:
        """Values of a named xs:simpleType enumeration in the DUIS (sr) namespace, in schema order."""
        found = self._doc.xpath(
            f"//xs:simpleType[@name='{type_name}']//xs:enumeration/@value", namespaces={"xs": XS_NS}
        )
        return tuple(str(v) for v in found)

    @property
    def service_reference_variants(self) -> tuple[str, ...]:
        return self.enumeration("ServiceReferenceVariant")

    @property
    def response_codes(self) -> tuple[str, ...]:
        return self.enumeration("ResponseCode")

    def body_elements(self) -> tuple[str, ...]:
        """Names of the elements a request `sr:Body` may hold: the xs:choice inside Request's Body."""
        names = self._doc.xpath(
            "//xs:complexType[@name='Request']//xs:element[@name='Body']/xs:complexType/xs:choice/xs:element/@name",
            namespaces={"xs": XS_NS},
        )
        return tuple(str(n) for n in names)


@lru_cache(maxsize=8)
def _load(path: str | None) -> Schema:
    if path is None:
        main = default_schema_path()
        return Schema(Path(f"{paths.signing_tool_jar()}!{JAR_SCHEMA}"), main)
    source = Path(path).expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"schema file not found: {source} (from --schema or DUISCONF_SCHEMA)")
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:16]
    compiled = _copy_tree(source, paths.cache_dir() / "schemas" / f"user-{key}")
    return Schema(source, compiled)


def load_schema(path: str | os.PathLike[str] | None = None) -> Schema:
    """The schema at `path`, else $DUISCONF_SCHEMA, else DCC's DUIS 5.1 from the signing tool jar."""
    chosen = path if path is not None else os.environ.get("DUISCONF_SCHEMA") or None
    return _load(str(chosen) if chosen is not None else None)


__all__ = ["Schema", "load_schema", "default_schema_path", "DS_NS"]
