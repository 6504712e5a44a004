"""Parsing DUIS XML safely: no entities, no DTDs, no network, no DOCTYPE at all.

DCC's own signing tool forbids DOCTYPE declarations (XXE protection); we do the same and say so in the
error rather than letting a parser quietly ignore it.
"""

from __future__ import annotations

from lxml import etree

from ..errors import InvalidInput

# One parser per configuration; lxml parsers are reusable and cheap to share within a thread.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
    remove_comments=True,
    remove_pis=True,
)
# The same safety, the document as written: what a signature check must see (duisconf.signing).
_AS_WRITTEN = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
)


def parse_xml(data: bytes | str, *, source: str = "input", as_written: bool = False) -> etree._ElementTree:
    """Parse DUIS XML, dropping whitespace between elements, comments and processing instructions.

    `as_written` keeps all three (signatures are checked over the document as written). Raises
    InvalidInput naming `source` for malformed XML or any DOCTYPE declaration.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        tree = etree.fromstring(data, _AS_WRITTEN if as_written else _PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"{source}: malformed XML: {exc}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvalidInput(f"{source}: DOCTYPE declarations are not allowed in DUIS messages (entity/XXE protection)")
    return tree


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname
