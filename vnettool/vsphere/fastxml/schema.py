"""The vim25 schema as the fast reader needs it: light classes mirroring pyVmomi's data
objects (one per WSDL type, every property present, values typed by pyVmomi's own tables),
the property profiles to read, and the element -> value rules (`Schema`)."""

from __future__ import annotations

import base64
import re
from typing import Any

from pyVmomi import VmomiSupport
from pyVmomi.Iso8601 import ParseISO8601

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SOAPENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
DEFAULT_NS = "urn:vim25"

# Value kinds of a property (what the element's text becomes).
K_STR, K_BOOL, K_INT, K_FLOAT, K_MOREF, K_OBJ, K_ANY, K_DATETIME, K_BINARY = range(9)

_XSD_KIND = {
    "string": K_STR,
    "anyURI": K_STR,
    "boolean": K_BOOL,
    "int": K_INT,
    "long": K_INT,
    "short": K_INT,
    "byte": K_INT,
    "float": K_FLOAT,
    "double": K_FLOAT,
    "dateTime": K_DATETIME,
    "base64Binary": K_BINARY,
    "anyType": K_ANY,
}


class MoRef:
    """A managed object reference: what reader.py needs of a pyVmomi ManagedObject."""

    __slots__ = ("_moId", "_wsdlName")

    def __init__(self, type_name: str, moid: str) -> None:
        self._wsdlName = type_name
        self._moId = moid

    def __eq__(self, other: object) -> bool:
        return (
            getattr(other, "_moId", None) == self._moId
            and getattr(other, "_wsdlName", None) == self._wsdlName
        )

    def __hash__(self) -> int:
        return hash((self._wsdlName, self._moId))

    def __repr__(self) -> str:
        return f"'vim.{self._wsdlName}:{self._moId}'"


class Data:
    """Base of the light data objects. Subclasses are made per WSDL type by `TypeInfo`."""

    _wsdlName = "DataObject"  # noqa: N815 (pyVmomi's spelling, read by reader.py)
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        set_fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{self._wsdlName}({set_fields})"


class Field:
    """How one property of a data type is read: array or not, value kind, declared type.

    `only`, when set, names the one subtype (and its descendants) kept in this place: items of
    other types are skipped without being read (the profile's pruning)."""

    __slots__ = ("_info", "_schema", "array", "extra", "kind", "only", "type_name")

    def __init__(
        self,
        schema: Schema,
        array: bool,
        kind: int,
        type_name: str | None,
        only: str | None,
        extra: frozenset[str] = frozenset(),
    ) -> None:
        self._schema = schema
        self.array = array
        self.kind = kind
        self.type_name = type_name
        self.only = only
        self.extra = extra  # properties of the value skipped in this place only
        self._info: TypeInfo | None = None

    @property
    def info(self) -> TypeInfo:
        if self._info is None:
            assert self.type_name is not None
            self._info = self._schema.type_info(self.type_name, self.extra)
        return self._info


class TypeInfo:
    """The light class of one WSDL data type and how each of its properties is read."""

    __slots__ = ("cls", "extra", "fields", "name")

    def __init__(
        self, name: str, cls: type[Data], fields: dict[str, Field], extra: frozenset[str]
    ) -> None:
        self.name = name
        self.cls = cls
        self.fields = fields
        self.extra = extra


_CLASSES: dict[str, type[Data]] = {}
_TAGS: dict[str, str] = {}
_SUBTYPE: dict[tuple[str, str], bool] = {}


def _kind_of(py: Any) -> tuple[int, str | None]:
    """Map a pyVmomi property type to a value kind (and the WSDL name for data objects)."""
    V = VmomiSupport  # noqa: N806
    if py is bool:
        return K_BOOL, None
    if isinstance(py, type) and issubclass(py, int):
        return K_INT, None
    if py is float or py is V.double:
        return K_FLOAT, None
    if py is V.datetime:  # type: ignore[attr-defined]
        return K_DATETIME, None
    if py is V.binary:
        return K_BINARY, None
    if py is object:
        return K_ANY, None
    if isinstance(py, type) and issubclass(py, V.ManagedObject):
        return K_MOREF, None
    if isinstance(py, type) and issubclass(py, V.DataObject):
        return K_OBJ, V.GetWsdlName(py)
    return K_STR, None  # str, enums, URI, PropertyPath, type names, method names


def _default(ptype: Any, flags: int, array: bool) -> Any:
    """pyVmomi's value for an unset property (DataObject.__init__): mandatory scalars get
    False / "" / 0, optional ones None, arrays an empty one (a shared tuple here)."""
    V = VmomiSupport  # noqa: N806
    if array:
        return ()
    if flags & V.F_OPTIONAL:
        return None
    if ptype is bool:
        return False
    if issubclass(ptype, V.Enum):
        return None
    if issubclass(ptype, str):
        return ""
    if issubclass(ptype, (int, float)):
        return ptype(0) if ptype is float else 0
    return None


def light_class(name: str) -> type[Data]:
    """The light class of a WSDL data type: named after it, every property a class default."""
    cls = _CLASSES.get(name)
    if cls is None:
        py = VmomiSupport.GetWsdlType(DEFAULT_NS, name)
        defaults: dict[str, Any] = {}
        for prop in py._GetPropertyList():
            ptype = prop.type
            array = isinstance(ptype, type) and issubclass(ptype, list)
            defaults[prop.name] = _default(ptype, prop.flags, array)
        cls = type(name, (Data,), {"_wsdlName": name, "_fields": tuple(defaults), **defaults})
        _CLASSES[name] = cls
    return cls


def is_subtype(name: str, base: str) -> bool:
    """Whether WSDL type `name` is `base` or derives from it (False if unknown)."""
    key = (name, base)
    hit = _SUBTYPE.get(key)
    if hit is None:
        try:
            hit = issubclass(
                VmomiSupport.GetWsdlType(DEFAULT_NS, name),
                VmomiSupport.GetWsdlType(DEFAULT_NS, base),
            )
        except KeyError:
            hit = False
        _SUBTYPE[key] = hit
    return hit


def _local(tag: str) -> str:
    name = _TAGS.get(tag)
    if name is None:
        name = _TAGS[tag] = tag.rsplit("}", 1)[-1]
    return name


class Profile:
    """What to leave unread. `only` maps a declared item type to the one subtype kept where
    that type is expected (e.g. of a VM's devices only the network cards); `skip` maps a data
    type to properties never read, or ("Type.field") the properties never read of the values
    found in that field of that type. Skipped values stay at their unset defaults."""

    def __init__(
        self,
        only: dict[str, str] | None = None,
        skip: dict[str, set[str]] | None = None,
        option_keys: str | None = None,
    ) -> None:
        self.only = dict(only or {})
        self.skip = {k: frozenset(v) for k, v in (skip or {}).items()}
        # `option_keys`: a regex of the OptionValue keys kept in an ArrayOfOptionValue value
        # (a VM's config.extraConfig): the others are cut before parsing
        self.option_keys = option_keys


FULL = Profile()

# What reader.py reads of the network inventory and nothing more: a VM's devices other than
# network cards (disks, controllers, video...) are ~60% of the XML at 10,000 VMs.
NETWORK = Profile(
    only={"VirtualDevice": "VirtualEthernetCard"},
    skip={
        "HostPhysicalNic": {"fcoeConfiguration", "validLinkSpecification", "spec"},
        "HostNetworkInfo": {"netStackInstance", "dnsConfig", "ipRouteConfig", "routeTableInfo"},
        "HostNetworkPolicy": {"offloadPolicy"},
        # Of the candidate vmknics of a service only the key and device are read.
        "VirtualNicManagerNetConfig.candidateVnic": {"spec", "port", "portgroup"},
    },
    # of a VM's extraConfig (tens of entries a VM) the reader keeps the dvFilter settings and
    # vnettool's appliance tags only (models.inventory.kept_extra_config)
    option_keys=r"ethernet[0-9]+\.filter[0-9]+\.|vnettool\.appliance",
)


class Schema:
    """Per-profile tables: TypeInfo by WSDL name, xsi:type resolutions. Built lazily from
    pyVmomi's type information, then shared by all parses (thread-safe enough: entries are
    only ever added, and two threads computing the same entry compute equal ones)."""

    def __init__(self, profile: Profile = FULL) -> None:
        self.profile = profile
        self._types: dict[str, TypeInfo] = {}
        self._by_xsi: dict[str, tuple[int, TypeInfo | None, Field | None]] = {}
        # Array items of an `only` type that are not of the kept subtype are cut from the raw
        # bytes: such items never nest, so the first closing tag ends one.
        self._only = [(base.encode(), kept) for base, kept in self.profile.only.items()]
        self._cut: dict[tuple[bytes, frozenset[bytes]], re.Pattern[bytes]] = {}
        # An item of an ArrayOfOptionValue property value is an element named OptionValue
        # (array fields inside data objects are named after the field): the only such
        # property read is a VM's config.extraConfig, so nothing else is cut here.
        self._options = (
            re.compile(
                rb"<OptionValue(?: [^>]*)?><key>(?!(?:" + profile.option_keys.encode() + rb"))"
                rb"[^<]*</key>.*?</OptionValue>",
                re.DOTALL,
            )
            if profile.option_keys
            else None
        )

    def strip(self, body: bytes) -> bytes:
        """`body` without the array items this profile never reads (e.g. a VM's disks and
        controllers), so that libxml2 does not build them only for the reader to skip them.
        One C-speed pass finds the item types present, a second cuts those not kept; items
        written in any other form are still skipped by the reader."""
        if self._options is not None and b"<OptionValue" in body:
            body = self._options.sub(b"", body)
        for base, kept in self._only:
            found = set(re.findall(rb"<" + base + rb' [\w.-]+:type="([^"]+)">', body))
            cut = frozenset(t for t in found if not is_subtype(t.decode(), kept))
            if not cut:
                continue
            pattern = self._cut.get((base, cut))
            if pattern is None:
                names = b"|".join(re.escape(t) for t in sorted(cut))
                pattern = self._cut[(base, cut)] = re.compile(
                    rb"<" + base + rb' [\w.-]+:type="(?:' + names + rb')">'
                    rb"[^<]*(?:<(?!/" + base + rb">)[^<]*)*</" + base + rb">"
                )
            body = pattern.sub(b"", body)
        return body

    def type_info(self, name: str, extra: frozenset[str] = frozenset()) -> TypeInfo:
        """The TypeInfo of `name`; `extra` are properties skipped in one place only."""
        key = f"{name}-{'/'.join(sorted(extra))}" if extra else name
        ti = self._types.get(key)
        if ti is not None:
            return ti
        py = VmomiSupport.GetWsdlType(DEFAULT_NS, name)
        skip = self.profile.skip.get(name, frozenset()) | extra
        fields: dict[str, Field] = {}
        for prop in py._GetPropertyList():
            if prop.name in skip:
                continue
            ptype = prop.type
            array = isinstance(ptype, type) and issubclass(ptype, list)
            kind, type_name = _kind_of(ptype.Item if array else ptype)
            only = self.profile.only.get(type_name) if type_name else None
            here = self.profile.skip.get(f"{name}.{prop.name}", frozenset())
            fields[prop.name] = Field(self, array, kind, type_name, only, here)
        ti = self._types[key] = TypeInfo(name, light_class(name), fields, extra)
        return ti

    def xsi(self, xsi: str) -> tuple[int, TypeInfo | None, Field | None]:
        """What an xsi:type value names: a primitive kind, a data type, or an array."""
        hit = self._by_xsi.get(xsi)
        if hit is not None:
            return hit
        name = xsi.rsplit(":", 1)[-1]
        res: tuple[int, TypeInfo | None, Field | None]
        if name in _XSD_KIND:
            res = (_XSD_KIND[name], None, None)
        elif name == "ManagedObjectReference":
            res = (K_MOREF, None, None)
        elif name.startswith("ArrayOf"):
            item = name[7:]
            item_lc = item[:1].lower() + item[1:]
            if item_lc in _XSD_KIND:
                field = Field(self, True, _XSD_KIND[item_lc], None, None)
            elif item == "ManagedObjectReference":
                field = Field(self, True, K_MOREF, None, None)
            else:
                field = Field(self, True, K_OBJ, item, self.profile.only.get(item))
            res = (-1, None, field)
        else:
            try:
                py = VmomiSupport.GetWsdlType(DEFAULT_NS, name)
            except KeyError:
                py = None  # a type pyVmomi does not know: read as declared
            if py is None:
                res = (K_OBJ, None, None)
            elif issubclass(py, VmomiSupport.DataObject):
                res = (K_OBJ, self.type_info(name), None)
            else:
                res = (_kind_of(py)[0], None, None)  # enums and other simple types
        self._by_xsi[xsi] = res
        return res

    def build(self, el: Any, ti: TypeInfo) -> Any:
        """A light object from a data object element; its xsi:type, if any, overrides `ti`."""
        xt = el.get(XSI_TYPE)
        if xt is not None:
            kind, sub, _ = self.xsi(xt)
            if sub is not None:
                ti = sub if not ti.extra else self.type_info(sub.name, ti.extra)
            elif kind != K_OBJ:
                return self.value(el, xt)
        fields = ti.fields
        d: dict[str, Any] = {}
        tags = _TAGS
        for c in el:
            tag = c.tag
            name = tags.get(tag) or _local(tag)
            f = fields.get(name)
            if f is None:
                continue  # skipped, or newer than pyVmomi's tables: not read
            kind = f.kind
            if kind == K_STR:
                v: Any = c.text or ""
            elif kind == K_OBJ:
                if f.only is not None and not self._keep(c, f.only):
                    continue
                v = self.build(c, f.info)
            elif kind == K_BOOL:
                t = c.text
                v = t in ("true", "1")
            elif kind == K_INT:
                v = int(c.text)
            elif kind == K_MOREF:
                v = MoRef(c.get("type") or "", c.text or "")
            elif kind == K_ANY:
                v = self.any_value(c)
            else:
                v = _scalar(kind, c.text)
            if f.array:
                lst = d.get(name)
                if lst is None:
                    d[name] = [v]
                else:
                    lst.append(v)
            else:
                d[name] = v
        obj = ti.cls.__new__(ti.cls)
        obj.__dict__ = d
        return obj

    @staticmethod
    def _keep(el: Any, only: str) -> bool:
        xt = el.get(XSI_TYPE)
        return xt is not None and is_subtype(xt.rsplit(":", 1)[-1], only)

    def value(self, el: Any, xsi: str) -> Any:
        """The value of an element whose type is given by `xsi` (primitive, object, array)."""
        kind, sub, arr = self.xsi(xsi)
        if arr is not None:
            out = []
            akind = arr.kind
            only = arr.only
            for c in el:
                if akind == K_OBJ:
                    if only is not None and not self._keep(c, only):
                        continue
                    out.append(self.build(c, arr.info))
                elif akind == K_MOREF:
                    out.append(MoRef(c.get("type") or "", c.text or ""))
                else:
                    out.append(_scalar(akind, c.text))
            return out
        if sub is not None:
            return self.build(el, sub)
        if kind == K_MOREF:
            return MoRef(el.get("type") or "", el.text or "")
        if kind == K_OBJ:
            return el.text or ""  # unknown type where no declared type helps: keep the text
        return _scalar(kind, el.text)

    def any_value(self, el: Any) -> Any:
        """An `xsd:anyType` value: typed by its xsi:type, plain text without one."""
        xt = el.get(XSI_TYPE)
        if xt is None:
            return el.text or ""
        return self.value(el, xt)

    def object_content(self, el: Any) -> ObjectProps:
        """(type, moref id, {path: value}) of an ObjectContent element; `missingSet`
        entries (properties not readable on that object) are left out, as pyVmomi's path does."""
        mo_type = mo_id = ""
        props: dict[str, Any] = {}
        for part in el:
            name = _local(part.tag)
            if name == "propSet":
                pname = ""
                val: Any = None
                for x in part:
                    n = _local(x.tag)
                    if n == "name":
                        pname = x.text or ""
                    elif n == "val":
                        val = self.any_value(x)
                props[pname] = val
            elif name == "obj":
                mo_type, mo_id = part.get("type") or "", part.text or ""
        return mo_type, mo_id, props


def _scalar(kind: int, text: str | None) -> Any:
    if kind == K_STR:
        return text or ""
    if kind == K_BOOL:
        return text in ("true", "1")
    if kind == K_INT:
        return int(text or 0)
    if kind == K_FLOAT:
        return float(text or 0)
    if kind == K_DATETIME:
        return ParseISO8601(text or "")
    if kind == K_BINARY:
        return base64.b64decode(text or "")
    return text


ObjectProps = tuple[str, str, dict[str, Any]]
