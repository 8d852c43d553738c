"""One fleet vCenter's connection details, for a command that talks to it in this process
(the TUI's vCenter picker); fleet commands hand the same details to a child's environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vnettool.fleet.secrets import resolve
from vnettool.models.fleet import Fleet, VCenterEntry
from vnettool.vsphere.credentials import (
    DEFAULT_RETRY_BUDGET_S,
    DEFAULT_TIMEOUT_S,
    Credentials,
    parse_server,
    seconds_from_env,
)


def vcenter_credentials(fleet: Fleet, vc: VCenterEntry, base_dir: Path) -> Credentials:
    """Server, pinned thumbprint or CA file, and the user and password its reference names."""
    host, port, path, _, _ = parse_server(vc.url)
    user, password = resolve(fleet.credentials_of(vc), base_dir)
    ca = str(base_dir / Path(vc.ca_file).expanduser()) if vc.ca_file else None
    return Credentials(
        host=host,
        port=port,
        path=path,
        user=user,
        password=password,
        thumbprint=vc.thumbprint,
        ca_file=ca,
        source=f"fleet vCenter {vc.name}",
        timeout_s=seconds_from_env("VNETTOOL_TIMEOUT", DEFAULT_TIMEOUT_S, 0.1),
        retry_budget_s=seconds_from_env("VNETTOOL_RETRY_BUDGET", DEFAULT_RETRY_BUDGET_S, 0),
    )


@dataclass(frozen=True)
class FleetTargets:
    """The vCenters a picker offers (the fleet file's, narrowed by --only)."""

    fleet: Fleet
    base_dir: Path  # the fleet file's folder: relative credential files and CA files
    entries: list[VCenterEntry]

    def credentials(self, name: str) -> Credentials:
        """Connection details of one vCenter, its password read from its reference now."""
        vc = next(v for v in self.entries if v.name == name)
        return vcenter_credentials(self.fleet, vc, self.base_dir)
