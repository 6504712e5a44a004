"""What a schema-validating parser does to a DUIS document's whitespace, done to an lxml tree.

DCC's signing tool parses with the DUIS XSD attached and element-content whitespace ignored, then signs
and verifies the DOM it got (duis.md §9.3, §9.5). That DOM is the schema-normalised document, so its
digest differs from a plain parse in two ways, found by experiment with the tool (tests/test_interop_java.py):

- whitespace-only text inside an element whose type has element-only or empty content is dropped,
  between children and as the only content alike (`<sr:ReadPrepaymentConfiguration>\\n</…>` digests as
  an empty element); in simple-typed and mixed-content elements (`sr:SeasonName`, `ds:SignatureMethod`)
  it is kept and signed;
- simple-typed element and attribute values are whitespace-normalised by their type's whiteSpace facet:
  collapsed for every built-in type but string and normalizedString (`<sr:CommandVariant> 4\\n<` digests
  as `4`, `schemaVersion=" 5.4 "` as `5.4`), tabs and newlines replaced for normalizedString, kept for
  string and its restrictions.

`SchemaWhitespace(schema).normalise(root)` does both in place, walking the tree with the declarations
in context (a local element's type comes from its parent's content model). Elements the schema does
not declare are left untouched, as the tool never signs a document that fails its XSD.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
XS_NS = XS[1:-1]
PRESERVE, REPLACE, COLLAPSE = "preserve", "replace", "collapse"
XML_SPACE = " \t\r\n"
_RUNS = re.compile(r"[ \t\r\n]+")
_REPLACE = str.maketrans("\t\r\n", "   ")


def is_blank(text: str | None) -> bool:
    """Whitespace-only in XML's sense (space, tab, CR, LF; not NBSP or other Unicode spaces)."""
    return text is not None and not text.strip(XML_SPACE)


def apply_facet(value: str, facet: str) -> str:
    if facet == COLLAPSE:
        return _RUNS.sub(" ", value).strip(" ")
    if facet == REPLACE:
        return value.translate(_REPLACE)
    return value


@dataclass
class _Type:
    """What validation does to an element of one type: its content kind, facet, children, attributes."""

    kind: str  # "element" (element-only or empty), "mixed" or "simple"
    facet: str = PRESERVE  # for "simple"
    children: dict[str, object] = field(default_factory=dict)  # child Clark name -> its declaration node
    attributes: dict[str, str] = field(default_factory=dict)  # attribute Clark name -> facet
    # child Clark name -> its resolved type (None: undeclared), filled by the walk: resolving a child's
    # declaration each time was most of a normalise, and a DUIS exchange normalises three documents.
    resolved: dict[str, _Type | None] = field(default_factory=dict, compare=False, repr=False)


_ANY = _Type("mixed")

# Normalising changes a document only where a text or attribute value holds a tab, CR or LF, starts or
# ends with a space, or holds two spaces in a row (a whitespace-only text included). Serialised, each of
# these shows as one of the marks below (lxml writes CR, and tab / LF in attributes, as character
# references); a document with none is already normal, and the walk (~3 µs an element, three documents
# an exchange) is skipped. A mark elsewhere (in a comment, say) costs only the walk.
_MARKS = (b"\n", b"\t", b"\r", b"&#", b"  ", b"> ", b" <", b'=" ', b' "', b"<![CDATA[")  # &#: &#9; &#10; &#13;


def needs_normalising(root: etree._Element) -> bool:
    """False when `root` serialises with no mark of whitespace a schema-validating parse would change."""
    text = etree.tostring(root, with_tail=False)
    for mark in _MARKS:  # each a fast substring scan; one regex of them all was ten times slower
        if mark in text:
            return True
    return False


class SchemaWhitespace:
    """The whitespace rules of one compiled schema (its main XSD file and everything it imports)."""

    def __init__(self, main: Path):
        self._docs: list[etree._ElementTree] = []
        self._globals: dict[tuple[str, str], dict[str, etree._Element]] = {
            kind: {} for kind in ("element", "complexType", "simpleType", "group", "attributeGroup", "attribute")
        }
        self._load(Path(main), set())
        self._types: dict[etree._Element, _Type] = {}
        self._roots: dict[str, _Type | None] = {}  # document element Clark name -> its type, resolved once
        self._facets: dict[etree._Element, str] = {}
        self._lock = threading.Lock()
        # Held while the walk resolves a type: _complex publishes a type before its children are collected
        # (recursive types), so no walk may read one another thread is still building.
        self._resolving = threading.RLock()

    # -- loading ---------------------------------------------------------------------------------
    def _load(self, path: Path, seen: set[Path]) -> None:
        path = path.resolve()
        if path in seen or not path.is_file():
            return
        seen.add(path)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
        tree = etree.parse(str(path), parser)
        self._docs.append(tree)
        root = tree.getroot()
        target = root.get("targetNamespace", "")
        for child in root:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local in self._globals and child.get("name"):
                self._globals[local][f"{{{target}}}{child.get('name')}" if target else child.get("name")] = child
        for ref in root.iter(f"{XS}import", f"{XS}include"):
            if ref.get("schemaLocation") and "://" not in ref.get("schemaLocation"):
                self._load(path.parent / ref.get("schemaLocation"), seen)

    @staticmethod
    def _schema_of(node: etree._Element) -> etree._Element:
        return node.getroottree().getroot()

    def _qname(self, node: etree._Element, value: str) -> str:
        prefix, _, local = value.rpartition(":")
        namespace = node.nsmap.get(prefix or None) or ""
        return f"{{{namespace}}}{local}" if namespace else local

    def _declared_name(self, node: etree._Element, *, attribute: bool) -> str:
        """The Clark name an element/attribute declaration matches (global, or local with its form)."""
        schema = self._schema_of(node)
        target = schema.get("targetNamespace", "")
        is_global = node.getparent() is schema
        form_default = schema.get("attributeFormDefault" if attribute else "elementFormDefault", "unqualified")
        qualified = is_global or node.get("form", form_default) == "qualified"
        name = node.get("name")
        return f"{{{target}}}{name}" if qualified and target else name

    # -- types -----------------------------------------------------------------------------------
    def _element_type(self, decl: etree._Element) -> _Type:
        """The type of an element declaration (following ref= to the global declaration)."""
        if decl.get("ref"):
            decl = self._globals["element"].get(self._qname(decl, decl.get("ref")))
            if decl is None:
                return _ANY
        with self._lock:
            if decl in self._types:
                return self._types[decl]
        if decl.get("type"):
            found = self._named_type(decl, decl.get("type"))
        else:
            inline = decl.find(f"{XS}complexType")
            if inline is not None:
                found = self._complex(inline)
            elif decl.find(f"{XS}simpleType") is not None:
                found = _Type("simple", self._simple_facet(decl.find(f"{XS}simpleType")))
            else:
                found = _ANY  # no type: xs:anyType
        with self._lock:
            self._types[decl] = found
        return found

    def _named_type(self, context: etree._Element, name: str) -> _Type:
        qname = self._qname(context, name)
        if qname.startswith(f"{{{XS_NS}}}"):
            local = qname.split("}")[1]
            return _ANY if local == "anyType" else _Type("simple", self._builtin_facet(local))
        complex_node = self._globals["complexType"].get(qname)
        if complex_node is not None:
            return self._complex(complex_node)
        simple_node = self._globals["simpleType"].get(qname)
        return _Type("simple", self._simple_facet(simple_node)) if simple_node is not None else _ANY

    @staticmethod
    def _builtin_facet(local: str) -> str:
        return {"string": PRESERVE, "anySimpleType": PRESERVE, "normalizedString": REPLACE}.get(local, COLLAPSE)

    def _simple_facet(self, node: etree._Element) -> str:
        """The whiteSpace facet of a simple type: its own facet, else its base's; lists and unions collapse."""
        if node in self._facets:
            return self._facets[node]
        facet = COLLAPSE
        restriction = node.find(f"{XS}restriction")
        if restriction is not None:
            own = restriction.find(f"{XS}whiteSpace")
            if own is not None:
                facet = own.get("value", COLLAPSE)
            elif restriction.get("base"):
                facet = self._facet_of_name(restriction, restriction.get("base"))
            elif restriction.find(f"{XS}simpleType") is not None:
                facet = self._simple_facet(restriction.find(f"{XS}simpleType"))
        self._facets[node] = facet
        return facet

    def _facet_of_name(self, context: etree._Element, name: str) -> str:
        found = self._named_type(context, name)
        return found.facet if found.kind == "simple" else PRESERVE

    def _complex(self, node: etree._Element) -> _Type:
        with self._lock:
            if node in self._types:
                return self._types[node]
        result = _Type("mixed" if node.get("mixed") == "true" else "element")
        with self._lock:
            self._types[node] = result  # before recursing: recursive types refer to themselves
        simple_content = node.find(f"{XS}simpleContent")
        complex_content = node.find(f"{XS}complexContent")
        body = node
        if simple_content is not None:
            derivation = simple_content[0] if len(simple_content) else None
            result.kind = "simple"
            if derivation is not None:
                base = derivation.get("base")
                result.facet = self._facet_of_name(derivation, base) if base else PRESERVE
                own = derivation.find(f"{XS}whiteSpace")
                if own is not None:
                    result.facet = own.get("value", result.facet)
                if base:
                    self._inherit_attributes(result, derivation, base)
                body = derivation
        elif complex_content is not None:
            if complex_content.get("mixed") == "true":
                result.kind = "mixed"
            derivation = next((c for c in complex_content if isinstance(c.tag, str)), None)
            if derivation is not None:
                base = derivation.get("base")
                if base and etree.QName(derivation).localname == "extension":
                    base_type = self._named_type(derivation, base)
                    result.children.update(base_type.children)
                if base:
                    self._inherit_attributes(result, derivation, base)
                body = derivation
        self._collect(body, result)
        return result

    def _inherit_attributes(self, result: _Type, context: etree._Element, base: str) -> None:
        base_type = self._named_type(context, base)
        if base_type is not _ANY:
            result.attributes.update(base_type.attributes)

    def _collect(self, node: etree._Element, result: _Type) -> None:
        """Child element and attribute declarations of a content model (groups followed)."""
        for child in node:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local == "element":
                name = self._qname(child, child.get("ref")) if child.get("ref") else self._declared_name(child, attribute=False)
                result.children.setdefault(name, child)
            elif local in ("sequence", "choice", "all"):
                self._collect(child, result)
            elif local == "group" and child.get("ref"):
                group = self._globals["group"].get(self._qname(child, child.get("ref")))
                if group is not None:
                    self._collect(group, result)
            elif local == "attribute":
                self._attribute(child, result)
            elif local == "attributeGroup" and child.get("ref"):
                group = self._globals["attributeGroup"].get(self._qname(child, child.get("ref")))
                if group is not None:
                    self._collect(group, result)

    def _attribute(self, node: etree._Element, result: _Type) -> None:
        if node.get("ref"):
            name = self._qname(node, node.get("ref"))
            node = self._globals["attribute"].get(name, node)
        else:
            name = self._declared_name(node, attribute=True)
        if node.get("type"):
            facet = self._facet_of_name(node, node.get("type"))
        elif node.find(f"{XS}simpleType") is not None:
            facet = self._simple_facet(node.find(f"{XS}simpleType"))
        else:
            facet = PRESERVE  # anySimpleType
        result.attributes[name] = facet

    # -- the walk --------------------------------------------------------------------------------
    def normalise(self, root: etree._Element) -> None:
        """Do to `root` (in place) what DCC's schema-validating parser does to the same document."""
        if not needs_normalising(root):
            return
        kind = self._roots.get(root.tag, False)
        if kind is False:
            decl = self._globals["element"].get(root.tag)
            with self._resolving:
                kind = self._roots[root.tag] = self._element_type(decl) if decl is not None else None
        if kind is not None:
            self._visit(root, kind)

    def _child_type(self, kind: _Type, tag: str) -> _Type | None:
        """The type of a `tag` child of an element of type `kind` (None: no declaration), resolved once."""
        with self._resolving:
            decl = kind.children.get(tag)
            if decl is None:
                decl = self._globals["element"].get(tag)  # matched by a wildcard: the global declaration
            found = kind.resolved[tag] = self._element_type(decl) if decl is not None else None
            return found

    def _visit(self, element: etree._Element, kind: _Type) -> None:
        if kind is _ANY:
            return
        for name, value in element.attrib.items():
            facet = kind.attributes.get(name)
            if facet and facet != PRESERVE:
                element.set(name, apply_facet(value, facet))
        if kind.kind == "simple":
            if element.text is not None and kind.facet != PRESERVE:
                element.text = apply_facet(element.text, kind.facet)
            return
        element_only = kind.kind == "element"
        if element_only and is_blank(element.text):
            element.text = None
        for child in element:
            if element_only and is_blank(child.tail):
                child.tail = None
            if not isinstance(child.tag, str):
                continue
            child_kind = kind.resolved.get(child.tag, False)
            if child_kind is False:
                child_kind = self._child_type(kind, child.tag)
            if child_kind is not None:
                self._visit(child, child_kind)


_CACHE: dict[Path, SchemaWhitespace] = {}
_CACHE_LOCK = threading.Lock()


def for_schema_file(main: Path) -> SchemaWhitespace:
    """The (cached) whitespace rules of the compiled schema whose main file is `main`."""
    found = _CACHE.get(main)  # the caller's own Path object: no lock, no new Path (three lookups an exchange)
    if found is not None:
        return found
    main = Path(main)
    with _CACHE_LOCK:
        found = _CACHE.get(main)
        if found is None:
            found = _CACHE[main] = SchemaWhitespace(main)
        return found
