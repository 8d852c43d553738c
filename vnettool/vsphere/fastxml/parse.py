"""PropertyCollector responses (RetrievePropertiesEx pages, WaitForUpdatesEx update sets)
parsed with lxml into (type, id, properties) with the values the schema gives."""

from __future__ import annotations

from typing import Any

from lxml import etree

from vnettool.vsphere.fastxml.schema import SOAPENV, ObjectProps, Schema, _local

# -- responses --------------------------------------------------------------------------------
_PARSER_OPTS: dict[str, Any] = {
    "remove_comments": True,
    "remove_pis": True,
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": True,
}
_PARSER = etree.XMLParser(**_PARSER_OPTS)
_RETURNVAL = "returnval"


def _body_child(root: Any) -> Any:
    body = root.find(SOAPENV + "Body")
    if body is None or len(body) == 0:
        raise ValueError("not a SOAP response: no Body")
    return body[0]


class RetrieveParser:
    """Incremental parser of one RetrievePropertiesEx / ContinueRetrievePropertiesEx response.

    Fed the body in chunks as they arrive; each `<objects>` is turned into light objects as soon
    as it closes and its elements are freed, so memory holds one object's XML, not the page's.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.token: str | None = None
        self._parser = etree.XMLPullParser(
            events=("end",), tag=("{*}objects", "{*}token"), **_PARSER_OPTS
        )

    def feed(self, chunk: bytes) -> list[ObjectProps]:
        self._parser.feed(chunk)
        return self._drain()

    def close(self) -> list[ObjectProps]:
        self._parser.close()
        return self._drain()

    def _drain(self) -> list[ObjectProps]:
        out: list[ObjectProps] = []
        el: Any
        for _, el in self._parser.read_events():
            parent = el.getparent()
            if parent is None or _local(parent.tag) != _RETURNVAL:
                continue  # a property that happens to be named so: part of an object
            if _local(el.tag) == "token":
                self.token = el.text or None
                continue
            out.append(self.schema.object_content(el))
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
        return out


def parse_retrieve(
    body: bytes, schema: Schema | None = None
) -> tuple[list[ObjectProps], str | None]:
    """(objects, token) of a whole RetrievePropertiesEx / ContinueRetrievePropertiesEx body."""
    p = RetrieveParser(schema or Schema())
    out = p.feed(body)
    out += p.close()
    return out, p.token


def parse_updates(
    body: bytes, schema: Schema | None = None
) -> tuple[str | None, bool, list[tuple[str, str, str, list[tuple[str, str, Any]]]]]:
    """(version, truncated, [(kind, type, moref id, [(op, path, value)])]) of WaitForUpdatesEx.

    None as the version means the wait ended with no update.
    """
    schema = schema or Schema()
    root = etree.fromstring(body, _PARSER)
    resp = _body_child(root)
    version: str | None = None
    truncated = False
    objects: list[tuple[str, str, str, list[tuple[str, str, Any]]]] = []
    for rv in resp:
        for part in rv:
            name = _local(part.tag)
            if name == "version":
                version = part.text or ""
            elif name == "truncated":
                truncated = part.text in ("true", "1")
            elif name == "filterSet":
                for os_ in part:
                    if _local(os_.tag) == "objectSet":
                        objects.append(_object_update(schema, os_))
    return version, truncated, objects


def _object_update(schema: Schema, el: Any) -> tuple[str, str, str, list[tuple[str, str, Any]]]:
    kind = mo_type = mo_id = ""
    changes: list[tuple[str, str, Any]] = []
    for x in el:
        n = _local(x.tag)
        if n == "kind":
            kind = x.text or ""
        elif n == "obj":
            mo_type, mo_id = x.get("type") or "", x.text or ""
        elif n == "changeSet":
            cname = op = ""
            val: Any = None
            for y in x:
                m = _local(y.tag)
                if m == "name":
                    cname = y.text or ""
                elif m == "op":
                    op = y.text or ""
                elif m == "val":
                    val = schema.any_value(y)
            changes.append((op, cname, val))
    return kind, mo_type, mo_id, changes
