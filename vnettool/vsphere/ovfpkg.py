"""OVF/OVA packages: read the descriptor and stream the files, from a path or an http(s) URL.

No pyVmomi here (vsphere/ovf.py makes the calls): the planner reads the descriptor to check a
definition (networks, properties, deployment option) before anything is imported, and the
import streams the disks from the same package.

An OVA is a tar whose first member is the descriptor, the other files in References order
(OVF 1.1 / DSP0243 §5.3); it is read *sequentially*, so an OVA behind a URL is streamed once,
never downloaded whole first. An OVF (a descriptor with its files beside it) is read file by
file, relative to the descriptor's directory or URL.

The descriptor is untrusted input: it is parsed without entity expansion or network access
and at most `MAX_DESCRIPTOR` bytes are read.
"""

from __future__ import annotations

import posixpath
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lxml import etree
from pydantic import Field

from vnettool.errors import ConfigError
from vnettool.models.base import Model
from vnettool.userfile import read_bytes

MAX_DESCRIPTOR = 4 * 1024 * 1024
TIMEOUT_S = 60.0
NIC_TYPE = "10"  # CIM ResourceType of an Ethernet adapter


class OvfError(ConfigError):
    """A package that cannot be read or a descriptor that is not a usable OVF."""


class OvfNic(Model):
    instance_id: str
    connection: str | None = None  # the OVF network name
    configurations: list[str] = Field(default_factory=list)  # empty: in every option


class OvfProperty(Model):
    id: str  # as vCenter keys it: class.key.instance (class/instance when present)
    type: str = "string"
    password: bool = False
    user_configurable: bool = False
    default: str | None = None


class OvfFile(Model):
    id: str
    href: str
    size: int | None = None


class OvfDescriptor(Model):
    text: str
    networks: list[str] = Field(default_factory=list)
    nics: list[OvfNic] = Field(default_factory=list)
    properties: list[OvfProperty] = Field(default_factory=list)
    files: list[OvfFile] = Field(default_factory=list)
    deployment_options: list[str] = Field(default_factory=list)
    default_option: str | None = None

    def nics_for(self, option: str | None) -> list[OvfNic]:
        """The NICs the VM gets with this deployment option (vCenter's choice when None)."""
        chosen = option or self.default_option
        return [n for n in self.nics if not n.configurations or chosen in n.configurations]

    def property(self, pid: str) -> OvfProperty | None:
        return next((p for p in self.properties if p.id == pid), None)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _attr(el: Any, name: str) -> str | None:
    """An attribute by local name, whatever namespace (OVF 1.x or 2.x) it is in."""
    for k, v in el.attrib.items():
        if _local(k) == name:
            return str(v)
    return None


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c.tag) == name]


def _descendants(el: Any, name: str) -> list[Any]:
    return [c for c in el.iter() if _local(c.tag) == name]


def parse(text: str) -> OvfDescriptor:
    """The parts of an OVF descriptor a deployment needs."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(text.encode(), parser)
    except etree.XMLSyntaxError as exc:
        raise OvfError(f"the OVF descriptor is not XML: {exc}") from None
    if _local(root.tag) != "Envelope":
        raise OvfError(f"the OVF descriptor's root is <{_local(root.tag)}>, not <Envelope>")
    systems = _descendants(root, "VirtualSystem")
    if len(systems) != 1:
        raise OvfError(
            f"the OVF holds {len(systems)} virtual systems; an appliance is exactly one VM"
        )
    files = [
        OvfFile(
            id=_attr(f, "id") or "",
            href=_attr(f, "href") or "",
            size=int(_attr(f, "size") or 0) or None,
        )
        for r in _children(root, "References")
        for f in _children(r, "File")
    ]
    for f in files:
        if not f.href or f.href.startswith("/") or ".." in f.href.split("/") or "://" in f.href:
            raise OvfError(f"file {f.id or '?'}: href {f.href!r} must be a name in the package")
    networks = [_attr(n, "name") or "" for n in _descendants(root, "Network")]
    nics = []
    for item in _descendants(systems[0], "Item") + _descendants(systems[0], "EthernetPortItem"):
        kind = next((c.text for c in item if _local(c.tag) == "ResourceType"), None)
        if (kind or "").strip() != NIC_TYPE:
            continue
        conn = next((c.text for c in item if _local(c.tag) == "Connection"), None)
        iid = next((c.text for c in item if _local(c.tag) == "InstanceID"), None)
        nics.append(
            OvfNic(
                instance_id=(iid or "").strip(),
                connection=(conn or "").strip() or None,
                configurations=(_attr(item, "configuration") or "").split(),
            )
        )
    props = []
    for section in _descendants(systems[0], "ProductSection"):
        cls, inst = _attr(section, "class"), _attr(section, "instance")
        for p in _children(section, "Property"):
            key = _attr(p, "key") or ""
            pid = ".".join(x for x in (cls, key, inst) if x)
            props.append(
                OvfProperty(
                    id=pid,
                    type=_attr(p, "type") or "string",
                    password=(_attr(p, "password") or "").lower() == "true",
                    user_configurable=(_attr(p, "userConfigurable") or "").lower() == "true",
                    default=_attr(p, "value"),
                )
            )
    options, default = [], None
    for sec in _children(root, "DeploymentOptionSection"):
        for c in _children(sec, "Configuration"):
            cid = _attr(c, "id") or ""
            options.append(cid)
            if (_attr(c, "default") or "").lower() == "true":
                default = cid
    if options and default is None:
        default = options[0]  # OVF: the first one when none is marked default
    return OvfDescriptor(
        text=text,
        networks=networks,
        nics=nics,
        properties=props,
        files=files,
        deployment_options=options,
        default_option=default,
    )


# -- packages -------------------------------------------------------------------------------


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def _kind(source: str) -> str:
    path = urllib.parse.urlsplit(source).path if is_url(source) else source
    ext = posixpath.splitext(path.lower())[1]
    if ext not in (".ova", ".ovf"):
        raise OvfError(f"{source}: an OVF source ends in .ovf or .ova")
    return ext[1:]


def _open_url(url: str) -> IO[bytes]:
    try:
        resp: IO[bytes] = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except (OSError, ValueError) as exc:
        raise OvfError(f"{url}: cannot download: {exc}") from None
    return resp


@contextmanager
def _raw(source: str) -> Iterator[IO[bytes]]:
    """The package's bytes as a stream (a local file or an HTTP response)."""
    if is_url(source):
        stream = _open_url(source)
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise OvfError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        yield stream
    finally:
        stream.close()


def _ova_members(stream: IO[bytes]) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for m in tar:
                yield tar, m
    except tarfile.TarError as exc:
        raise OvfError(f"not a readable OVA (tar): {exc}") from None


def read_descriptor(source: str) -> OvfDescriptor:
    """Parse the package's descriptor (an OVA is read only up to its .ovf member)."""
    kind = _kind(source)
    if kind == "ovf":
        if is_url(source):
            with _raw(source) as s:
                data = s.read(MAX_DESCRIPTOR + 1)
        else:
            data = read_bytes(source, limit=MAX_DESCRIPTOR + 1, what="OVF descriptor")
        if len(data) > MAX_DESCRIPTOR:
            raise OvfError(f"{source}: the descriptor is larger than {MAX_DESCRIPTOR} bytes")
        return parse(data.decode("utf-8", "replace"))
    with _raw(source) as s:
        for tar, m in _ova_members(s):
            if m.name.lower().endswith(".ovf") and m.isfile():
                if m.size > MAX_DESCRIPTOR:
                    raise OvfError(f"{source}: {m.name} is larger than {MAX_DESCRIPTOR} bytes")
                f = tar.extractfile(m)
                if f is None:
                    break
                return parse(f.read().decode("utf-8", "replace"))
    raise OvfError(f"{source}: the OVA holds no .ovf descriptor")


def open_files(source: str, hrefs: list[str]) -> Iterator[tuple[str, int | None, IO[bytes]]]:
    """(href, size or None, stream) of the wanted files: an OVA in its tar order (streamed
    once), an OVF's files in the order asked. Each stream is valid until the next item."""
    if _kind(source) == "ova":
        wanted = set(hrefs)
        seen: set[str] = set()
        with _raw(source) as s:
            for tar, m in _ova_members(s):
                name = posixpath.normpath(m.name)
                if name in wanted and m.isfile():
                    f = tar.extractfile(m)
                    if f is not None:
                        seen.add(name)
                        yield name, m.size, f
        missing = sorted(wanted - seen)
        if missing:
            raise OvfError(f"{source}: the OVA lacks {', '.join(missing)}")
        return
    for href in hrefs:
        if is_url(source):
            url = urllib.parse.urljoin(source, href)
            with _raw(url) as s:
                length = getattr(s, "headers", {}).get("Content-Length")
                yield href, int(length) if length else None, s
        else:
            path = Path(source).parent / href
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise OvfError(f"{path}: cannot read: {exc.strerror or exc}") from None
            with _raw(str(path)) as s:
                yield href, size, s
