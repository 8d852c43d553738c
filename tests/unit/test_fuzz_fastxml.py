"""Fuzz the fast XML reader with a bounded budget: real recorded pages, cut, spliced, with
bytes flipped or hostile constructs inserted. The reader must either parse or raise one of
`fastxml.PARSE_ERRORS` (on which inventory collection falls back to pyVmomi, which in turn
reports a MalformedResponse) — never hang, never another exception type.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnettool.vsphere import fastxml

PAGE = gzip.decompress(
    sorted((Path(__file__).parent / "data" / "fastxml").glob("default_lab_p*.xml.gz"))[
        0
    ].read_bytes()
)[:60_000]
BUDGET = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
    b"<![CDATA[</propSet>]]>",
    b"\x00",
    b"&#0;",
    b"<val xsi:type='xsd:int'>99999999999999999999999</val>",
    b"<val xsi:type='NoSuchType'>1</val>",
    b"</returnval></soapenv:Body>",
    b"<obj type='HostSystem'>",
    "<name>\u202e\ufeffé</name>".encode(),
]
_SCHEMA = fastxml.Schema(fastxml.FULL)


def _parse(body: bytes) -> None:
    try:
        objs, _ = fastxml.parse_retrieve(body, _SCHEMA)
    except fastxml.PARSE_ERRORS:
        return
    assert isinstance(objs, list)


@given(cut=st.integers(min_value=0, max_value=len(PAGE)))
@BUDGET
def test_truncated_page(cut: int) -> None:
    _parse(PAGE[:cut])


@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(PAGE) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
@BUDGET
def test_flipped_bytes(flips: list[tuple[int, int]]) -> None:
    body = bytearray(PAGE)
    for pos, byte in flips:
        body[pos] = byte
    _parse(bytes(body))


@given(at=st.integers(0, len(PAGE)), junk=st.sampled_from(HOSTILE) | st.binary(max_size=64))
@BUDGET
def test_inserted_hostile_constructs(at: int, junk: bytes) -> None:
    _parse(PAGE[:at] + junk + PAGE[at:])


def test_entities_are_not_expanded_from_files(tmp_path: Path) -> None:
    """An external entity must not pull a local file into the inventory (XXE)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("XXE-MARKER-7f3a")
    doctype = f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'.encode()
    head = b'<?xml version="1.0" encoding="UTF-8"?>'
    body = PAGE.replace(head, head + doctype, 1).replace(b"<name>", b"<name>&e;", 1)
    try:
        objs, _ = fastxml.parse_retrieve(body, _SCHEMA)
    except fastxml.PARSE_ERRORS:
        return
    assert "XXE-MARKER-7f3a" not in repr(objs)
