"""The documents of a content-hub export, in every shape the service accepts (docs/content-hub.md).

`kbi submit` cuts an export it cannot send whole into jobs of `[[documents], {}]`. Those
jobs must hold every document the service would have read in the whole export, in its
order, so this walks the shapes as the service's adapter does: documents then metadata
(`[[doc], meta]`), a bare list of documents (`[doc, doc]`), a list of pages
(`[[[doc], meta], [[doc], meta]]`) and pages concatenated flat (`[[doc], meta, [doc], meta]`);
a page's metadata is optional. An export out of these shapes is refused, never guessed at.
"""

from __future__ import annotations

from typing import Any

SHAPES = ("[documents, metadata], a list of documents, a list of [documents, metadata] pages, "
          "or such pages concatenated flat ([documents, metadata, documents, metadata])")


class ShapeError(ValueError):
    """The export is not in a shape the service accepts; the message names where, as `[i][j]`."""


def documents_in(export: Any) -> list[Any]:
    """Every document of `export`, in order (the metadata objects are left out, as the service does)."""
    if not isinstance(export, list):
        raise ShapeError(f"it is a JSON {kind_of(export)}; an export is a list: {SHAPES}")
    if all(isinstance(element, dict) for element in export):
        return export  # a bare list of documents
    documents: list[Any] = []
    after_documents = False
    for i, element in enumerate(export):
        where = f"[{i}]"
        if _is_page(element):
            documents += _page(element, where)
        elif isinstance(element, list):
            documents += _objects(element, where)
        elif isinstance(element, dict) and not after_documents:
            raise ShapeError(f"{where} is an object that follows no list of documents; an export is {SHAPES}")
        elif not isinstance(element, dict):
            raise ShapeError(f"{where} is a JSON {kind_of(element)}: expected a list of documents, the metadata "
                             f"object after one, or a [documents, metadata] page")
        after_documents = isinstance(element, list) and not _is_page(element)
    return documents


def _is_page(element: Any) -> bool:
    """`[[doc, …], meta]`, told from a list of documents by its first element, a list."""
    return isinstance(element, list) and bool(element) and isinstance(element[0], list)


def _page(page: list[Any], where: str) -> list[Any]:
    if len(page) > 2:
        raise ShapeError(f"{where}[2]: a page is [documents, metadata] and nothing may follow")
    if len(page) == 2 and not isinstance(page[1], dict):
        raise ShapeError(f"{where}[1]: a page's metadata must be an object, not a JSON {kind_of(page[1])}")
    return _objects(page[0], f"{where}[0]")


def _objects(documents: list[Any], where: str) -> list[Any]:
    """Documents must be objects: the service refuses anything else, and a list in their
    place would be read as a page once the documents are wrapped into a job of their own."""
    for i, document in enumerate(documents):
        if not isinstance(document, dict):
            raise ShapeError(f"{where}[{i}] is a JSON {kind_of(document)}, not a document object")
    return documents


def kind_of(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
