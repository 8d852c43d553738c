"""esxcli over the vSphere API: `network diag ping` (vmkping) from a host's VMkernel adapter.

The call is `HostSystem.RetrieveManagedMethodExecuter` followed by `ExecuteSoap` on the
returned executer (moid `ha-cli-handler-network-diag`, method `vim.EsxCLI.network.diag.ping`,
version `urn:vim25/5.0`, one argument per parameter whose value is an XML fragment). pyVmomi
ships neither call nor type, so both requests are sent as raw SOAP over the session's own stub
(same cookie, TLS pinning and connection pool). The response is an XML document in ESXi's own
format (`Summary` with the misspelt `Recieved`, round-trip times in microseconds), decoded by
the pure `parse_ping_response` below, which keys on local names only.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from pyVmomi import SoapAdapter, VmomiSupport, vim

from vnettool.errors import ApiFault
from vnettool.models.latency import PingResult, PingSpec, PingTrace
from vnettool.vsphere.connection import Session

PING_MOID = "ha-cli-handler-network-diag"
PING_METHOD = "vim.EsxCLI.network.diag.ping"
ESXCLI_VERSION = "urn:vim25/5.0"  # what govc sends, whatever the host version
NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


class EsxcliFault(ApiFault):
    """The esxcli command itself failed on the host (`ReflectManagedMethodExecuterSoapFault`)."""

    def __init__(self, obj: str | None, message: str, detail: str = "") -> None:
        self.detail = detail
        super().__init__("esxcli network diag ping", obj, "EsxCLIFault", message)


# -- pure: arguments and response -------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ping_arguments(target: str, spec: PingSpec, count: int | None = None) -> dict[str, str]:
    """The ExecuteSoap arguments for one ping: parameter name -> `<name>value</name>`.

    Values are escaped here; the SOAP layer escapes the whole fragment once more, as ESXi expects.
    """
    params: dict[str, object] = {"host": target, "count": count or spec.count}
    if spec.interval_s is not None:
        params["interval"] = spec.interval_s
    if spec.size is not None:
        params["size"] = spec.size
    if spec.df:
        params["df"] = True
    if spec.interface:
        params["interface"] = spec.interface
    if spec.netstack:
        params["netstack"] = spec.netstack
    if spec.wait_s is not None:
        params["wait"] = spec.wait_s
    return {k: f"<{k}>{escape(_text(v))}</{k}>" for k, v in params.items()}


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _fields(el: Any) -> dict[str, str]:
    return {_local(c.tag): (c.text or "").strip() for c in el if _local(c.tag)}


def _num(v: str | None) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return None


def _int(v: str | None) -> int:
    n = _num(v)
    return int(n) if n is not None else 0


def _rtt(summary: Mapping[str, str], name: str) -> tuple[float | None, str | None]:
    """Round-trip field in µs: `RoundtripX` when present, else `RoundtripXMS` (µs on old builds)."""
    for field in (f"Roundtrip{name}", f"Roundtrip{name}MS"):
        if field in summary and summary[field] != "":
            return _num(summary[field]), field
    return None, None


def parse_ping_response(xml: str | bytes) -> PingResult:
    """Decode ESXi's ping output (the `response` string of ExecuteSoap) into a PingResult.

    Accepts an `ArrayOfDataObject` root or a single structure, in any element order, with or
    without namespaces; `PacketLost` is a percentage. Missing round-trip figures (all packets
    lost) stay None rather than 0, so they are never mistaken for a fast path.
    """
    data = xml.encode() if isinstance(xml, str) else xml
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    summaries = [el for el in root.iter() if _local(el.tag) == "Summary"]
    if not summaries:
        raise ValueError("ping response has no Summary element")
    summary = _fields(summaries[0])
    traces: list[PingTrace] = []
    for el in root.iter():
        if _local(el.tag) != "Trace":
            continue
        f = _fields(el)
        rtt = f.get("RoundtripTime") or f.get("RoundtripTimeMS")
        traces.append(
            PingTrace(
                seq=int(_num(f.get("ICMPSeq")) or 0) if f.get("ICMPSeq") else None,
                host=f.get("Host") or None,
                received_bytes=int(_num(f.get("ReceivedBytes")) or 0)
                if f.get("ReceivedBytes")
                else None,
                ttl=int(_num(f.get("TTL")) or 0) if f.get("TTL") else None,
                rtt_us=_num(rtt),
                dup=f.get("Dup", "").lower() == "true",
                detail=f.get("Detail", ""),
            )
        )
    transmitted = _int(summary.get("Transmitted"))
    # ESXi spells it "Recieved"; accept the correct spelling too, should a build fix it.
    received = _int(summary.get("Recieved", summary.get("Received")))
    lost = _num(summary.get("PacketLost"))
    if lost is None:
        lost = 100.0 * (transmitted - received) / transmitted if transmitted else 100.0
    rmin, _ = _rtt(summary, "Min")
    ravg, field = _rtt(summary, "Avg")
    rmax, _ = _rtt(summary, "Max")
    if received == 0:
        # With nothing received ESXi reports 0 µs; that is "no figure", not "instant".
        rmin = ravg = rmax = None
    return PingResult(
        host_addr=summary.get("HostAddr") or None,
        transmitted=transmitted,
        received=received,
        duplicated=_int(summary.get("Duplicated")),
        loss_pct=float(lost),
        rtt_min_us=rmin,
        rtt_avg_us=ravg,
        rtt_max_us=rmax,
        rtt_field=field,
        traces=traces,
    )


# -- raw SOAP over the session's stub -------------------------------------------------------


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{NS_SOAP}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:xsi="{NS_XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def _moref_xml(tag: str, type_: str, value: str) -> str:
    return f'<{tag} type="{escape(type_)}">{escape(value)}</{tag}>'


def _raise_soap_fault(stub: Any, payload: bytes) -> None:
    """Turn a SOAP fault into the pyVmomi fault object, so Session.call's policy applies."""
    try:
        obj = SoapAdapter.SoapResponseDeserializer(stub).Deserialize(
            io.BytesIO(payload), VmomiSupport.GetVmodlType("string")
        )
    except Exception:
        obj = None
    if isinstance(obj, BaseException):
        raise obj
    root = etree.fromstring(payload)
    msg = next((el.text or "" for el in root.iter() if _local(el.tag) == "faultstring"), "")
    raise vim.fault.VimFault(msg=msg or "SOAP fault")


def _post(session: Session, body: str) -> Any:
    """POST one hand-built SOAP request through the stub; return the parsed Body child."""
    stub = session.stub
    headers = {
        "Cookie": stub.cookie,
        "SOAPAction": stub.versionId,
        "Content-Type": "text/xml; charset=UTF-8",
    }
    conn = stub.GetConnection()
    try:
        conn.request("POST", stub.path, _envelope(body), headers)
        resp = conn.getresponse()
        payload = resp.read()
    except Exception:
        conn.close()
        stub.DropConnections()
        raise
    stub.ReturnConnection(conn)
    if resp.status == 500:
        _raise_soap_fault(stub, payload)
    if resp.status != 200:
        import http.client

        raise http.client.HTTPException(f"{resp.status} {resp.reason}")
    root = etree.fromstring(payload, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    body_el = next(el for el in root if _local(el.tag) == "Body")
    return body_el[0]


class Esxcli:
    """esxcli on the hosts of one session; caches each host's method executer reference."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._mme: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def executer(self, host_moref: str) -> tuple[str, str]:
        """(type, value) of the host's ManagedMethodExecuter, echoed back as returned."""
        with self._lock:
            cached = self._mme.get(host_moref)
        if cached:
            return cached

        def call() -> tuple[str, str]:
            el = _post(
                self.session,
                '<RetrieveManagedMethodExecuter xmlns="urn:vim25">'
                + _moref_xml("_this", "HostSystem", host_moref)
                + "</RetrieveManagedMethodExecuter>",
            )
            ret = next(c for c in el if _local(c.tag) == "returnval")
            return ret.get("type") or "ManagedMethodExecuter", (ret.text or "").strip()

        mme = self.session.call(call, op="RetrieveManagedMethodExecuter", obj=host_moref)
        with self._lock:
            self._mme[host_moref] = mme
        return mme

    def execute(self, host_moref: str, moid: str, method: str, arguments: Mapping[str, str]) -> str:
        """Run one esxcli method; return its `response` XML or raise EsxcliFault."""
        mtype, mvalue = self.executer(host_moref)
        args = "".join(
            f"<argument><name>{escape(k)}</name><val>{escape(v)}</val></argument>"
            for k, v in arguments.items()
        )
        body = (
            '<ExecuteSoap xmlns="urn:vim25">'
            + _moref_xml("_this", mtype, mvalue)
            + f"<moid>{escape(moid)}</moid><version>{ESXCLI_VERSION}</version>"
            + f"<method>{escape(method)}</method>{args}</ExecuteSoap>"
        )
        el = self.session.call(lambda: _post(self.session, body), op="ExecuteSoap", obj=host_moref)
        ret = next((c for c in el if _local(c.tag) == "returnval"), None)
        if ret is None:
            raise EsxcliFault(host_moref, "empty ExecuteSoap result")
        fields = {_local(c.tag): c for c in ret}
        if "fault" in fields:
            f = _fields(fields["fault"])
            raise EsxcliFault(host_moref, _fault_text(f), f.get("faultDetail", ""))
        return str(fields["response"].text or "") if "response" in fields else ""

    def ping(self, host_moref: str, target: str, spec: PingSpec) -> PingResult:
        """vmkping from `host_moref`; with `spec.warmup`, one uncounted packet resolves ARP first."""
        if spec.warmup:
            try:
                self.execute(host_moref, PING_MOID, PING_METHOD, ping_arguments(target, spec, 1))
            except EsxcliFault:
                pass  # the measured ping reports the same failure with its own figures
        xml = self.execute(host_moref, PING_MOID, PING_METHOD, ping_arguments(target, spec))
        return parse_ping_response(xml)


def _fault_text(f: Mapping[str, str]) -> str:
    """The readable message of an esxcli fault: errMsg entries of the detail, else faultMsg."""
    detail = f.get("faultDetail", "")
    if detail:
        try:
            root = etree.fromstring(detail.encode())
            msgs = [el.text or "" for el in root.iter() if _local(el.tag) == "errMsg"]
            if msgs:
                return "; ".join(m.strip() for m in msgs if m.strip())
        except etree.XMLSyntaxError:
            return detail.strip()
    return f.get("faultMsg", "esxcli fault")
