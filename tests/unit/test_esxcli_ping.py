"""The esxcli ping decoder on ESXi output samples written from the documented format.

Samples follow api-facts-latency-appliances.md 1.5/1.7: an `ArrayOfDataObject` envelope with a
`VMKPing` structure (Summary + one Trace per reply), the misspelt `Recieved`, microseconds, and
`PacketLost` as a percentage; older builds carry `Roundtrip*MS` fields holding microseconds.
"""

from __future__ import annotations

import pytest
from lxml import etree

from vnettool.models.latency import PingSpec, payload_for_mtu
from vnettool.vsphere.esxcli import _fault_text, parse_ping_response, ping_arguments

HEAD = (
    '<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns="urn:vim25" versionId="5.0" xsi:type="ArrayOfDataObject">'
)


def trace(seq: int, rtt: int, field: str = "RoundtripTime", dup: bool = False) -> str:
    return (
        f"<Trace><Detail></Detail><Dup>{str(dup).lower()}</Dup><Host>172.40.0.10</Host>"
        f"<ICMPSeq>{seq}</ICMPSeq><ReceivedBytes>64</ReceivedBytes>"
        f"<{field}>{rtt}</{field}><TTL>64</TTL></Trace>"
    )


CURRENT = (
    HEAD + '<DataObject xsi:type="VimEsxCLInetworkdiagpingVMKPing"><Summary>'
    "<Duplicated>0</Duplicated><HostAddr>172.40.0.10</HostAddr><PacketLost>0</PacketLost>"
    "<Recieved>3</Recieved><RoundtripAvg>1840</RoundtripAvg><RoundtripMax>1864</RoundtripMax>"
    "<RoundtripMin>1824</RoundtripMin><Transmitted>3</Transmitted></Summary>"
    + trace(0, 1864)
    + trace(1, 1824)
    + trace(2, 1832)
    + "</DataObject></obj>"
)

# An older build: only the *MS fields, which hold microseconds (XFMT: 56950 for one ping).
OLD_MS = (
    HEAD
    + '<DataObject xsi:type="VimEsxCLInetworkdiagpingVMKPing">'
    + trace(0, 56950, "RoundtripTimeMS")
    + "<Summary><Transmitted>1</Transmitted><Recieved>1</Recieved><Duplicated>0</Duplicated>"
    "<PacketLost>0</PacketLost><HostAddr>8.8.8.8</HostAddr><RoundtripMinMS>56950</RoundtripMinMS>"
    "<RoundtripAvgMS>56950</RoundtripAvgMS><RoundtripMaxMS>56950</RoundtripMaxMS></Summary>"
    "</DataObject></obj>"
)

ALL_LOST = (
    HEAD + '<DataObject xsi:type="VimEsxCLInetworkdiagpingVMKPing"><Summary>'
    "<Duplicated>0</Duplicated><HostAddr>172.40.0.11</HostAddr><PacketLost>100</PacketLost>"
    "<Recieved>0</Recieved><RoundtripAvg>0</RoundtripAvg><RoundtripMax>0</RoundtripMax>"
    "<RoundtripMin>0</RoundtripMin><Transmitted>3</Transmitted></Summary>"
    "</DataObject></obj>"
)

PARTIAL_DUP = (
    HEAD + "<DataObject><Summary>"
    "<Duplicated>1</Duplicated><HostAddr>10.0.0.2</HostAddr><PacketLost>33</PacketLost>"
    "<Recieved>2</Recieved><RoundtripAvg>250</RoundtripAvg><RoundtripMax>300</RoundtripMax>"
    "<RoundtripMin>200</RoundtripMin><Transmitted>3</Transmitted></Summary>"
    + trace(0, 200)
    + trace(0, 300, dup=True)
    + "</DataObject></obj>"
)

# A single structure as root (as system.hostname.get answers), no namespace, other order.
SINGLE = (
    '<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:type="VimEsxCLInetworkdiagpingVMKPing">'
    "<Summary><RoundtripMin>90</RoundtripMin><Transmitted>2</Transmitted>"
    "<RoundtripAvg>95</RoundtripAvg><Recieved>2</Recieved><RoundtripMax>100</RoundtripMax>"
    "<HostAddr>10.0.0.3</HostAddr><Duplicated>0</Duplicated><PacketLost>0</PacketLost>"
    "</Summary></obj>"
)


def test_current_build_fields_in_microseconds() -> None:
    r = parse_ping_response(CURRENT)
    assert (r.transmitted, r.received, r.duplicated, r.loss_pct) == (3, 3, 0, 0.0)
    assert (r.rtt_min_us, r.rtt_avg_us, r.rtt_max_us) == (1824, 1840, 1864)
    assert r.rtt_field == "RoundtripAvg"
    assert r.host_addr == "172.40.0.10"
    assert [t.seq for t in r.traces] == [0, 1, 2]
    assert [t.rtt_us for t in r.traces] == [1864, 1824, 1832]
    assert all(t.received_bytes == 64 and t.ttl == 64 and not t.dup for t in r.traces)


def test_old_build_ms_fields_hold_microseconds() -> None:
    r = parse_ping_response(OLD_MS.encode())
    assert r.rtt_avg_us == 56950
    assert r.rtt_field == "RoundtripAvgMS"
    assert r.traces[0].rtt_us == 56950


def test_all_lost_has_no_round_trip_figures() -> None:
    r = parse_ping_response(ALL_LOST)
    assert r.received == 0
    assert r.loss_pct == 100.0
    assert r.rtt_avg_us is None and r.rtt_min_us is None and r.rtt_max_us is None
    assert r.traces == []


def test_partial_loss_and_duplicates() -> None:
    r = parse_ping_response(PARTIAL_DUP)
    assert (r.received, r.duplicated, r.loss_pct) == (2, 1, 33.0)
    assert [t.dup for t in r.traces] == [False, True]


def test_single_structure_root_any_order_no_namespace() -> None:
    r = parse_ping_response(SINGLE)
    assert (r.rtt_min_us, r.rtt_avg_us, r.rtt_max_us) == (90, 95, 100)
    assert r.received == 2


def test_correct_spelling_accepted_and_missing_loss_computed() -> None:
    xml = (
        "<obj><DataObject><Summary><Transmitted>4</Transmitted><Received>3</Received>"
        "<RoundtripAvg>500</RoundtripAvg></Summary></DataObject></obj>"
    )
    r = parse_ping_response(xml)
    assert r.received == 3
    assert r.loss_pct == pytest.approx(25.0)


def test_response_without_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="Summary"):
        parse_ping_response("<obj><DataObject/></obj>")


def test_arguments_are_escaped_fragments_named_by_parameter() -> None:
    spec = PingSpec(
        count=5,
        interval_s=0.2,
        size=payload_for_mtu(9000),
        df=True,
        interface="vmk1",
        netstack="vmotion",
        warmup=True,
    )
    args = ping_arguments("10.0.0.2<x>", spec)
    assert args["host"] == "<host>10.0.0.2&lt;x&gt;</host>"
    assert args["count"] == "<count>5</count>"
    assert args["size"] == "<size>8972</size>"
    assert args["df"] == "<df>true</df>"
    assert args["interval"] == "<interval>0.2</interval>"
    assert args["interface"] == "<interface>vmk1</interface>"
    assert args["netstack"] == "<netstack>vmotion</netstack>"
    for name, val in args.items():
        assert etree.fromstring(val).tag == name
    # The ARP warm-up sends one packet with the same options.
    assert ping_arguments("10.0.0.2", spec, 1)["count"] == "<count>1</count>"
    plain = ping_arguments("10.0.0.2", PingSpec())
    assert set(plain) == {"host", "count"}


def test_fault_text_reads_errmsg_of_the_detail() -> None:
    detail = (
        '<LocalizedMethodFault xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<fault xsi:type="VimEsxCLICLIFault"><errMsg>sendto() failed (Message too long)</errMsg>'
        "</fault><localizedMessage></localizedMessage></LocalizedMethodFault>"
    )
    assert _fault_text({"faultMsg": "Unable to complete", "faultDetail": detail}) == (
        "sendto() failed (Message too long)"
    )
    assert _fault_text({"faultMsg": "Unable to complete"}) == "Unable to complete"
