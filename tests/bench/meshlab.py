"""The lab the mesh benchmarks share: one cluster of N hosts, pings as slow as on ESXi.

`bench_mesh.py` (workers against the serial sum) and `bench_probe_round.py` (the bounded
concurrency of one `latency probe` round) measure the same thing on the same lab; this is
that lab: private (a temporary directory, stopped afterwards), time_scale 1 so a ping takes
(count-1) x interval + RTT, a session pinned to the lab's certificate, and the vMotion
endpoints of the cluster.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.bench.bench_apply import session_for
from vnettool.inventory.collect import collect
from vnettool.lab.netem import set_time_scale
from vnettool.lab.runner import Lab, Topology
from vnettool.latency.probe import Endpoint, endpoints
from vnettool.vsphere.connection import Session
from vnettool.vsphere.esxcli import Esxcli


@dataclass
class MeshLab:
    lab: Lab
    session: Session
    endpoints: list[Endpoint]
    skipped: dict[str, str]  # host -> why it has no endpoint
    esx: Esxcli


@contextmanager
def mesh_lab(hosts: int) -> Iterator[MeshLab]:
    """A started lab of 1 cluster x `hosts` hosts (one VM each, one DVS and port group)."""
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        st, _ = lab.start(Topology(dc=1, cluster=1, host=hosts, vm=hosts, dvs=1, pg=1))
        try:
            set_time_scale(1.0, lab=lab)
            with session_for(st.url) as s:
                eps, skipped = endpoints(collect(s))
                yield MeshLab(lab, s, eps, skipped, Esxcli(s))
        finally:
            lab.stop()
