"""`vnettool lab start --fleet N` / `lab stop`: N labs as N sites, and the fleet file for them.

Each lab is its own simulator process on its own port, with its state under
$VNETTOOL_HOME/fleet/<site>/ and a password of its own, written only to a 0600 credentials
file that the fleet file references (never to the fleet file, never to an argument list).
The labs differ in topology (port groups, VMs) and names (the datacenter is named after the
site), and carry the cross-site drift the fleet audit looks for.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vnettool import userfile
from vnettool.lab.runner import LAB_USER, Lab, LabError, LabState, Topology
from vnettool.paths import fleet_lab_dir

SITES = ("ams", "fra", "nyc", "sfo", "sgp", "syd", "lon", "tyo")
REGIONS = {"ams": "eu", "fra": "eu", "lon": "eu", "nyc": "us", "sfo": "us"}
MAX_LABS = 16


@dataclass(frozen=True)
class SiteLab:
    name: str
    index: int
    lab: Lab

    @property
    def credentials_file(self) -> Path:
        return self.lab.dir / "credentials.yml"

    @property
    def tags(self) -> list[str]:
        return ["lab", REGIONS.get(self.name, "apac" if self.name in SITES else "lab")]

    @property
    def l2_domain(self) -> str:
        """Sites pair up on layer 2 (a stretched VLAN between neighbours)."""
        return f"l2-{self.index // 2 + 1}"


def site_labs(n: int) -> list[SiteLab]:
    names = [SITES[i] if i < len(SITES) else f"site{i + 1}" for i in range(n)]
    return [SiteLab(name, i, Lab(fleet_lab_dir() / name)) for i, name in enumerate(names)]


def topology_of(base: Topology, index: int) -> Topology:
    """The site's own shape: the hosts stay as asked (benchmarks compare like with like)."""
    return Topology(
        dc=base.dc,
        cluster=base.cluster,
        host=base.host,
        vm=base.vm + 2 * (index % 2),
        dvs=base.dvs,
        pg=min(base.pg + index % 3, Topology.LIMITS["pg"][1]),
        pnics=base.pnics,
    )


def start_site(site: SiteLab, base: Topology) -> tuple[LabState, bool]:
    """Start (or find) one site's lab; a new one gets a fresh password and its drift."""
    if site.lab.state() is not None:
        return site.lab.state(), False  # type: ignore[return-value]
    password = secrets.token_urlsafe(18)
    st, _ = site.lab.start(topology_of(base, site.index), password=password)
    text = _yaml({"user": LAB_USER, "password": password})
    userfile.write_text(site.credentials_file, text, what="credentials file")
    _seed(site)
    return st, True


def _seed(site: SiteLab) -> None:
    from pydantic import SecretStr

    from vnettool.vsphere.connection import connect
    from vnettool.vsphere.credentials import Credentials, parse_server
    from vnettool.vsphere.seed import seed_fleet_site

    profile = site.lab.profile() or {}
    host, port, path, _, _ = parse_server(profile["server"])
    creds = Credentials(
        host=host,
        port=port,
        path=path,
        user=profile["user"],
        password=SecretStr(profile["password"]),
        thumbprint=profile.get("thumbprint"),
        source="lab profile",
    )
    with connect(creds) as session:
        seed_fleet_site(session, site.name, site.index)


def start_fleet(n: int, base: Topology) -> tuple[Path, list[tuple[SiteLab, LabState, bool]]]:
    """Start the N labs side by side and write their fleet file; returns its path."""
    sites = site_labs(n)
    with ThreadPoolExecutor(min(n, 8)) as pool:
        states = list(pool.map(lambda s: start_site(s, base), sites))
    path = fleet_lab_dir() / "fleet.yml"
    entries = []
    for site, (st, _) in zip(sites, states, strict=True):
        profile = site.lab.profile() or {}
        entries.append(
            {
                "name": site.name,
                "url": st.url,
                "tags": site.tags,
                "thumbprint": profile.get("thumbprint"),
                "l2_domain": site.l2_domain,
                "credentials": {"file": f"{site.name}/credentials.yml"},
            }
        )
    userfile.write_text(path, _yaml({"version": 1, "vcenters": entries}), what="fleet file")
    return path, [(s, st, new) for s, (st, new) in zip(sites, states, strict=True)]


def _site_dirs() -> list[Path]:
    root = fleet_lab_dir()
    return sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []


def stop_fleet(sites: Sequence[str] = ()) -> list[str]:
    """Stop the fleet's labs (only `sites` when given); the names of those that were running.

    Stopping every lab removes the fleet file and the credentials. Stopping some keeps both,
    so the fleet file still lists them: the next fleet run reports them failed, as a vCenter
    that went down, and `lab start --fleet N` starts them again (new port, new password)."""
    dirs = _site_dirs()
    if sites:
        known = {d.name for d in dirs}
        unknown = [s for s in sites if s not in known]
        if unknown:
            raise LabError(
                f"no fleet lab {', '.join(map(repr, unknown))} "
                f"(fleet labs: {', '.join(sorted(known)) or 'none'})"
            )
        return [d.name for d in dirs if d.name in sites and Lab(d).stop()]
    stopped = []
    for d in dirs:
        if Lab(d).stop():
            stopped.append(d.name)
        (d / "credentials.yml").unlink(missing_ok=True)
        try:
            d.rmdir()  # empty now, unless someone keeps files there
        except OSError:
            pass
    (fleet_lab_dir() / "fleet.yml").unlink(missing_ok=True)
    return stopped


@dataclass(frozen=True)
class SiteStatus:
    """One fleet lab as `lab status` shows it. `up` means the simulator process is this lab's
    and its control endpoint answered within a few seconds (a stopped or hung one is down)."""

    name: str
    url: str
    up: bool
    pid: int | None
    hosts: int | None
    started: str | None
    why: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "state": "up" if self.up else "down",
            "pid": self.pid,
            "hosts": self.hosts,
            "started": self.started,
            "why": self.why or None,
        }


def fleet_status(answer_timeout: float = 3.0) -> list[SiteStatus]:
    """Every site of the fleet file (and any started lab folder it does not name), up or
    down."""
    from vnettool.lab.control import request

    listed = _listed_urls()
    names = list(listed) + [
        d.name for d in _site_dirs() if d.name not in listed and (d / "state.json").exists()
    ]
    out = []
    for name in names:
        lab = Lab(fleet_lab_dir() / name)
        st = lab.state()
        url = st.url if st else listed.get(name, "")
        if st is None:
            out.append(SiteStatus(name, url, False, None, None, None, "simulator not running"))
            continue
        topo = st.topology or {}
        hosts = int(topo.get("dc", 0)) * int(topo.get("cluster", 0)) * int(topo.get("host", 0))
        why = ""
        try:
            request(lab, "GET", "faults", timeout=answer_timeout)
        except LabError as exc:
            why = f"not answering: {exc}"
        out.append(SiteStatus(name, url, not why, st.pid, hosts, st.started, why))
    return out


def _listed_urls() -> dict[str, str]:
    """Site name -> URL as the fleet file lists them (empty when there is none)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = fleet_lab_dir() / "fleet.yml"
    try:
        data = YAML(typ="safe").load(path.read_text())
    except (OSError, YAMLError):
        return {}
    vcs = data.get("vcenters") if isinstance(data, dict) else None
    return {
        str(v["name"]): str(v.get("url", ""))
        for v in vcs or []
        if isinstance(v, dict) and "name" in v
    }


def _yaml(data: object) -> str:
    from ruamel.yaml import YAML

    buf = io.StringIO()
    y = YAML()  # round-trip: keys stay in the order written (name first)
    y.width = 200
    y.dump(data, buf)
    return buf.getvalue()
