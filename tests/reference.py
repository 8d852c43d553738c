"""References the fast inventory reader is checked against.

- `plain()`: a structural, type-agnostic form of a value, the same for a pyVmomi object and
  for the fast reader's light object when (and only when) they carry the same data.
- `naive_walk()`: the inventory's raw objects read the naive way, attribute by attribute on
  pyVmomi managed objects (`host.config.network`...), one round trip per managed property.
- `envelope()`: a RetrievePropertiesEx response serialized by pyVmomi itself, to feed both
  readers constructed values.
"""

from __future__ import annotations

from typing import Any

from pyVmomi import SoapAdapter, VmomiSupport, vim, vmodl

from vnettool.models.inventory import Inventory
from vnettool.vsphere import fastxml
from vnettool.vsphere.collector import HOST_OPTIONS, PROPERTIES, RawObject, option_path, vim_type
from vnettool.vsphere.connection import Session
from vnettool.vsphere.dvs import available_versions
from vnettool.vsphere.reader import build_inventory

_IGNORED = ("dynamicType", "dynamicProperty")


def plain(v: Any) -> Any:
    """Nested dicts/lists/scalars: type name and every property, unset ones included."""
    if isinstance(v, (fastxml.MoRef, VmomiSupport.ManagedObject)):
        return ("moref", v._wsdlName, v._moId)
    if isinstance(v, fastxml.Data):
        return {
            "_type": v._wsdlName,
            **{f: plain(getattr(v, f)) for f in v._fields if f not in _IGNORED},
        }
    if isinstance(v, VmomiSupport.DataObject):
        return {
            "_type": v._wsdlName,
            **{
                p.name: plain(getattr(v, p.name))
                for p in v._GetPropertyList()
                if p.name not in _IGNORED
            },
        }
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, str):
        return str(v)  # pyVmomi enums are str subclasses
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)  # pyVmomi's long/short/byte
    return v


def plain_raw(raw: dict[str, RawObject]) -> dict[str, Any]:
    return {k: (o.type, {p: plain(v) for p, v in o.props.items()}) for k, o in raw.items()}


def naive_objects(session: Session) -> list[Any]:
    """The managed objects of the inventory, listed by a container view (the one bulk call)."""
    content = session.content
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim_type(t) for t in PROPERTIES], True
    )
    try:
        return list(view.view)
    finally:
        view.DestroyView()


def naive_read(mo: Any) -> RawObject:
    """Every PROPERTIES path of one object, read by walking pyVmomi attributes: each managed
    property is one round trip. A path whose prefix is unset is left out, as the
    PropertyCollector leaves it out. Prefixes are read once (`vm.config` serves three paths)."""
    paths = [p for t, ps in PROPERTIES.items() if isinstance(mo, vim_type(t)) for p in ps]
    raw = RawObject(type=mo._wsdlName, moref=mo._moId)
    cache: dict[str, Any] = {}
    for path in dict.fromkeys(paths):
        val: Any = mo
        prefix = ""
        for part in path.split("."):
            prefix = f"{prefix}.{part}" if prefix else part
            if prefix not in cache:
                cache[prefix] = getattr(val, part)
            val = cache[prefix]
            if val is None:
                break
        if val is not None:
            raw.props[path] = val
    return raw


def naive_walk(session: Session) -> dict[str, RawObject]:
    """The inventory's raw objects read the naive way, attribute by attribute; each connected
    host's advanced settings by one QueryOptions per key (not the PropertyCollector's indexed
    paths the readers use)."""
    out = {raw.moref: raw for raw in map(naive_read, naive_objects(session))}
    for mo in naive_objects(session):
        if isinstance(mo, vim.HostSystem) and mo.runtime.connectionState == "connected":
            om = mo.configManager.advancedOption
            raw = out[om._moId] = RawObject(type="OptionManager", moref=om._moId)
            for key in HOST_OPTIONS:
                try:
                    raw.props[option_path(key)] = om.QueryOptions(key)[0]
                except vim.fault.InvalidName:
                    pass
    return out


def envelope(objects: list[tuple[Any, dict[str, Any]]], token: str | None = None) -> bytes:
    """A RetrievePropertiesEx response with `objects` [(managed object, {path: value})]."""
    rr = vmodl.query.PropertyCollector.RetrieveResult
    result = rr(
        token=token,
        objects=[
            vmodl.query.PropertyCollector.ObjectContent(
                obj=mo,
                propSet=[vmodl.DynamicProperty(name=k, val=v) for k, v in props.items()],
            )
            for mo, props in objects
        ],
    )
    version = "vim.version.version11"
    info = VmomiSupport.Object(name="returnval", type=rr, version=version, flags=0)
    inner = SoapAdapter.SerializeToStr(result, info, version)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25">'
        f"{inner}</RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def update_envelope(update_set: Any) -> bytes:
    """A WaitForUpdatesEx response carrying `update_set` (None: the wait timed out)."""
    us = vmodl.query.PropertyCollector.UpdateSet
    version = "vim.version.version11"
    info = VmomiSupport.Object(name="returnval", type=us, version=version, flags=0)
    inner = SoapAdapter.SerializeToStr(update_set, info, version) if update_set else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><WaitForUpdatesExResponse xmlns="urn:vim25">'
        f"{inner}</WaitForUpdatesExResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def pyvmomi_parse(body: bytes) -> Any:
    """pyVmomi's own reading of a RetrievePropertiesEx response (the reference)."""
    info = vmodl.query.PropertyCollector._GetMethodInfo("RetrievePropertiesEx")
    return SoapAdapter.SoapResponseDeserializer(None).Deserialize(body, info.result)


def raw_from_pyvmomi(result: Any) -> dict[str, RawObject]:
    out: dict[str, RawObject] = {}
    for oc in result.objects if result is not None else []:
        raw = out.setdefault(oc.obj._moId, RawObject(type=oc.obj._wsdlName, moref=oc.obj._moId))
        for p in oc.propSet or []:
            raw.props[p.name] = p.val
    return out


def raw_from_fast(objects: list[fastxml.ObjectProps]) -> dict[str, RawObject]:
    out: dict[str, RawObject] = {}
    for t, m, props in objects:
        out.setdefault(m, RawObject(type=t, moref=m)).props.update(props)
    return out


def without_time(inv: Inventory) -> Inventory:
    return inv.model_copy(update={"collected_at": None})


def diff_inventories(a: Inventory, b: Inventory) -> list[str]:
    """Object-by-object differences (by identity), for readable failures."""
    out: list[str] = []
    for key in type(a).model_fields:
        if key == "collected_at":
            continue
        va, vb = getattr(a, key), getattr(b, key)
        if va == vb:
            continue
        if (
            isinstance(va, list)
            and isinstance(vb, list)
            and all(hasattr(x, "identity") for x in va + vb)
        ):
            ia = {x.identity(): x for x in va}
            ib = {x.identity(): x for x in vb}
            for ident in sorted(set(ia) | set(ib), key=str):
                if ia.get(ident) != ib.get(ident):
                    out.append(f"{key} {ident}: {ia.get(ident)!r} != {ib.get(ident)!r}")
        else:
            out.append(f"{key}: {va!r} != {vb!r}")
    return out


def reference_inventory(session: Session, raw: dict[str, RawObject]) -> Inventory:
    """What collect() builds from `raw`: the models plus the DVS versions vCenter offers."""
    inv = build_inventory(raw, vcenter=session.creds.host, api_version=session.about.apiVersion)
    return inv.model_copy(update={"dvs_versions": available_versions(session)})
