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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vnettool import userfile
from vnettool.lab.runner import LAB_USER, Lab, LabState, Topology
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


def stop_fleet() -> list[str]:
    """Stop every lab under the fleet folder; the names of those that were running."""
    root = fleet_lab_dir()
    stopped = []
    for d in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        if Lab(d).stop():
            stopped.append(d.name)
        (d / "credentials.yml").unlink(missing_ok=True)
    (root / "fleet.yml").unlink(missing_ok=True)
    return stopped


def _yaml(data: object) -> str:
    from ruamel.yaml import YAML

    buf = io.StringIO()
    y = YAML()  # round-trip: keys stay in the order written (name first)
    y.width = 200
    y.dump(data, buf)
    return buf.getvalue()
