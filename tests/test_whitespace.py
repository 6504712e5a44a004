"""The shortcut of schema normalising (duisconf.duis.whitespace.needs_normalising): a document it calls
already normal must come out of the full walk unchanged, whatever whitespace is put where."""

from __future__ import annotations

import copy
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from duisconf.duis import whitespace
from duisconf.duis.schema import load_schema
from duisconf.render import render_request

_SRVS = ("4.1.1", "1.1.1", "6.15.1", "2.2", "7.4", "8.11", "11.2")
_SPACES = st.text(alphabet=" \t\r\n", min_size=1, max_size=3)


def _walked(root: etree._Element) -> bytes:
    """The document after the full walk (the shortcut told to say every document needs it)."""
    root = copy.deepcopy(root)
    with mock.patch.object(whitespace, "needs_normalising", lambda _root: True):
        whitespace.for_schema_file(load_schema().compiled_path).normalise(root)
    return etree.tostring(root)


def _rendered(srv: str) -> etree._Element:
    xml = render_request(srv, counter=1)
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml)


_DOCUMENTS = [_walked(_rendered(srv)) for srv in _SRVS]  # as DCC's tool reads them: normal


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(_DOCUMENTS))), st.data())
def test_a_document_called_normal_is_unchanged_by_the_walk(index: int, data):
    root = etree.fromstring(_DOCUMENTS[index])
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(0, 3))):  # whitespace into texts, tails and attribute values
        element = data.draw(st.sampled_from(elements))
        where = data.draw(st.sampled_from(["text-start", "text-end", "text-middle", "tail", "attribute"]))
        spaces = data.draw(_SPACES)
        text = element.text or ""
        if where == "text-start" and len(element) == 0:
            element.text = spaces + text
        elif where == "text-end" and len(element) == 0:
            element.text = text + spaces
        elif where == "text-middle" and len(element) == 0 and len(text) > 1:
            element.text = text[:1] + spaces + text[1:]
        elif where == "tail" and element is not root:
            element.tail = (element.tail or "") + spaces
        elif where == "attribute" and element.attrib:
            name = sorted(element.attrib)[0]
            element.set(name, spaces + element.get(name))
    if not whitespace.needs_normalising(root):
        assert _walked(root) == etree.tostring(root)


def test_normal_documents_need_no_walk_and_blank_text_does():
    for srv, text in zip(_SRVS, _DOCUMENTS):
        assert not whitespace.needs_normalising(etree.fromstring(text)), srv
        assert whitespace.needs_normalising(_rendered(srv))  # as rendered: indented
    root = etree.fromstring(_DOCUMENTS[0])
    root[0].text = "\n  "
    assert whitespace.needs_normalising(root)
    assert _walked(root) != etree.tostring(root)


def test_one_space_at_either_end_of_any_value_is_seen():
    """Every text and attribute value of the documents, with one space before or after it: when the walk
    changes the document, the shortcut must have said so."""
    for text in _DOCUMENTS:
        for index in range(len(list(etree.fromstring(text).iter()))):
            for change in ("text-start", "text-end", "attribute-start", "attribute-end"):
                root = etree.fromstring(text)
                element = list(root.iter())[index]
                if change.startswith("text") and len(element) == 0:
                    element.text = " " + (element.text or "") if change == "text-start" else (element.text or "") + " "
                elif change.startswith("attribute") and element.attrib:
                    name = sorted(element.attrib)[0]
                    value = element.get(name)
                    element.set(name, " " + value if change == "attribute-start" else value + " ")
                else:
                    continue
                if _walked(root) != etree.tostring(root):
                    assert whitespace.needs_normalising(root), (change, element.tag)
