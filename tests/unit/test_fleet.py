"""The fleet file, its credential references and the drift across vCenters (pure code)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from typer.testing import CliRunner

from vnettool.audit.fleet_drift import (
    NAMED_DIFFERENTLY,
    PVLAN_CONFLICT,
    TRUNK_RANGES,
    TRUNK_REACH,
    VLAN_COLLISION,
    fleet_drift,
)
from vnettool.cli.main import app
from vnettool.errors import ConfigError
from vnettool.fleet.runner import Outcome, exit_code
from vnettool.fleet.secrets import resolve
from vnettool.models.fleet import EnvCredentials, FileCredentials, KeyringCredentials
from vnettool.models.inventory import (
    DistributedPortGroup,
    DistributedSwitch,
    DvPortSetting,
    Inventory,
    PvlanEntry,
    StandardPortGroup,
)
from vnettool.models.policy import VlanSpec
from vnettool.playbook.fleet_file import FleetError, fleet_schema, load_fleet, select

GOOD = """\
version: 1
workers: 4
credentials:
  user: administrator@vsphere.local
  password_env: VC_PASSWORD
vcenters:
  - name: ams
    url: https://vc-ams.example.com/sdk
    tags: [eu, prod]
    l2_domain: eu-stretch
  - name: nyc
    url: vc-nyc.example.com
    tags: [us]
    credentials: {file: nyc.yml}
"""


def _write(tmp_path: Path, text: str, name: str = "fleet.yml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_valid_fleet_file_loads_and_only_selects_by_name_or_tag(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    fleet = load_fleet(path)
    assert [vc.name for vc in fleet.vcenters] == ["ams", "nyc"]
    assert [vc.name for vc in select(fleet, "us", path)] == ["nyc"]
    assert [vc.name for vc in select(fleet, "ams,us", path)] == ["ams", "nyc"]
    assert isinstance(fleet.credentials_of(fleet.vcenters[0]), EnvCredentials)
    assert isinstance(fleet.credentials_of(fleet.vcenters[1]), FileCredentials)
    with pytest.raises(ConfigError, match=r"'nyx' is neither a vCenter name nor a tag.*'nyc'"):
        select(fleet, "nyx", path)


def test_an_inline_password_is_refused_at_its_line_without_its_value(tmp_path: Path) -> None:
    text = GOOD.replace("    credentials: {file: nyc.yml}", "    password: Hunter2-secret")
    with pytest.raises(FleetError) as err:
        load_fleet(_write(tmp_path, text))
    message = str(err.value)
    assert "fleet.yml:14:5: inline password refused" in message
    assert "Hunter2-secret" not in message


def test_a_password_in_the_url_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("vc-nyc.example.com", "https://root:pw@vc-nyc.example.com")
    with pytest.raises(FleetError, match=r"fleet.yml:12:10: .*no user or password in the URL"):
        load_fleet(_write(tmp_path, text))


def test_errors_are_located_and_all_reported(tmp_path: Path) -> None:
    text = GOOD.replace("workers: 4", "workerz: 4").replace("name: nyc", "name: 'bad name'")
    with pytest.raises(FleetError) as err:
        load_fleet(_write(tmp_path, text))
    message = str(err.value)
    assert "fleet.yml:2:1: unknown key 'workerz'" in message and "did you mean 'workers'" in message
    assert "fleet.yml:11:11:" in message and "vcenters[1].name" in message


def test_duplicate_names_and_missing_credentials_are_refused(tmp_path: Path) -> None:
    twice = GOOD.replace("name: nyc", "name: ams")
    with pytest.raises(FleetError, match=r"'ams' is used twice"):
        load_fleet(_write(tmp_path, twice))
    bare = "vcenters:\n  - name: a\n    url: a.example.com\n"
    with pytest.raises(FleetError, match=r"no credentials and there is no default"):
        load_fleet(_write(tmp_path, bare, "bare.yml"))


def test_the_schema_names_the_credential_kinds() -> None:
    text = json.dumps(fleet_schema())
    for key in ("password_env", "keyring", "l2_domain", "thumbprint"):
        assert key in text
    assert '"password"' not in text


def test_env_credentials_read_the_named_variables() -> None:
    ref = EnvCredentials(user_env="U", password_env="P")
    user, pwd = resolve(ref, Path("."), env={"U": "alice", "P": "s3cret"})
    assert (user, pwd.get_secret_value()) == ("alice", "s3cret")
    assert "s3cret" not in repr(pwd)
    with pytest.raises(ConfigError, match=r"environment variable P .*is not set"):
        resolve(ref, Path("."), env={"U": "alice"})


def test_a_credentials_file_must_be_private(tmp_path: Path) -> None:
    f = tmp_path / "c.yml"
    f.write_text("user: bob\npassword: pa55-word\n")
    f.chmod(0o644)
    with pytest.raises(ConfigError, match=r"mode 0644: others can read it; .*chmod 600") as err:
        resolve(FileCredentials(file="c.yml"), tmp_path)
    assert "pa55-word" not in str(err.value)
    f.chmod(0o600)
    user, pwd = resolve(FileCredentials(file="c.yml"), tmp_path)
    assert (user, pwd.get_secret_value()) == ("bob", "pa55-word")
    f.write_text("pa55-word: [\n")
    with pytest.raises(ConfigError) as err:
        resolve(FileCredentials(file="c.yml"), tmp_path)
    assert "pa55-word" not in str(err.value)


class _MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


def test_keyring_credentials_come_from_the_keyring_backend() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(_MemoryKeyring())
    try:
        ref = KeyringCredentials(keyring="vnettool-ams", user="admin")
        with pytest.raises(ConfigError, match=r"keyring set vnettool-ams admin"):
            resolve(ref, Path("."))
        keyring.set_password("vnettool-ams", "admin", "kr-secret")
        user, pwd = resolve(ref, Path("."))
        assert (user, pwd.get_secret_value()) == ("admin", "kr-secret")
    finally:
        keyring.set_keyring(previous)


def _inv(*pgs: tuple[str, int]) -> Inventory:
    return Inventory(
        standard_port_groups=[
            StandardPortGroup(host="h1", name=n, switch="vSwitch0", vlan_id=v) for n, v in pgs
        ]
    )


def test_drift_finds_renamed_port_groups_and_vlan_collisions_on_shared_l2() -> None:
    invs = {
        "ams": _inv(("Prod-Web", 110), ("ams-backup", 120), ("same", 130)),
        "fra": _inv(("prod_web", 110), ("fra-backup", 120), ("same", 130)),
        "nyc": _inv(("PROD WEB", 110), ("nyc-backup", 120)),
    }
    rows = fleet_drift(invs, {"ams": "eu", "fra": "eu", "nyc": None})
    kinds = {(r.kind, r.vcenter_a, r.vcenter_b, r.vlan) for r in rows}
    assert kinds == {
        (NAMED_DIFFERENTLY, "ams", "fra", 110),
        (NAMED_DIFFERENTLY, "ams", "nyc", 110),
        (NAMED_DIFFERENTLY, "fra", "nyc", 110),
        (VLAN_COLLISION, "ams", "fra", 120),
    }


def _dv(
    dvs_pvlans: list[tuple[int, int, str]],
    trunks: dict[str, list[tuple[int, int]]],
    *plain: tuple[str, int],
) -> Inventory:
    """A vCenter with one vDS: its PVLAN map, trunk port groups and plain-VLAN networks."""
    pvlans = [
        PvlanEntry(dvs="DVS0", primary_id=p, secondary_id=s, type=t)  # type: ignore[arg-type]
        for p, s, t in dvs_pvlans
    ]
    dpgs = [
        DistributedPortGroup(
            moref=f"pg-{n}",
            key=n,
            name=n,
            dvs="DVS0",
            setting=DvPortSetting(vlan=VlanSpec(kind="trunk", ranges=r)),
        )
        for n, r in trunks.items()
    ]
    dpgs.append(
        DistributedPortGroup(
            moref="pg-up",
            key="up",
            name="DVS0-uplinks",
            dvs="DVS0",
            uplink=True,
            setting=DvPortSetting(vlan=VlanSpec(kind="trunk", ranges=[(0, 4094)])),
        )
    )
    return _inv(*plain).model_copy(
        update={
            "distributed_switches": [
                DistributedSwitch(moref="dvs-1", name="DVS0", uuid="u", pvlans=pvlans)
            ],
            "distributed_port_groups": dpgs,
        }
    )


def test_trunk_ranges_compared_across_vcenters_and_reach_on_shared_l2() -> None:
    invs = {
        # ams and fra share L2; nyc does not
        "ams": _dv([], {"Trunk-Apps": [(100, 199)]}, ("ams-backup", 120), ("Prod-Web", 110)),
        "fra": _dv(
            [], {"trunk_apps": [(100, 149), (150, 150)]}, ("fra-backup", 120), ("prod_web", 110)
        ),
        "nyc": _dv([], {"TRUNK APPS": [(100, 199)], "vgt": [(1, 5)]}, ("x", 3)),
    }
    rows = fleet_drift(invs, {"ams": "eu", "fra": "eu", "nyc": None})
    by_kind: dict[str, list[Any]] = {}
    for r in rows:
        by_kind.setdefault(r.kind, []).append(r)
    # same name (spelling aside), other ranges: any two vCenters; equal ranges are no drift
    ranges = [(r.vcenter_a, r.vcenter_b, r.vlans) for r in by_kind[TRUNK_RANGES]]
    assert ranges == [("ams", "fra", "100-199 / 100-150"), ("fra", "nyc", "100-150 / 100-199")]
    assert "only in ams: 151-199" in by_kind[TRUNK_RANGES][0].detail
    # reach: only on shared L2, both directions, the stretched network (110) is not reach,
    # the uplink port group's 0-4094 trunk is not a guest trunk
    reach = {
        (r.vcenter_a, r.vcenter_b, r.names_a, r.names_b, r.vlans) for r in by_kind[TRUNK_REACH]
    }
    assert reach == {
        ("ams", "fra", ("Trunk-Apps",), ("fra-backup",), "120"),
        ("fra", "ams", ("trunk_apps",), ("ams-backup",), "120"),
    }
    assert (
        "a guest tagging them joins fra's networks in L2 domain eu"
        in by_kind[TRUNK_REACH][0].detail
    )
    assert all(r.kind != TRUNK_REACH or "nyc" not in (r.vcenter_a, r.vcenter_b) for r in rows)


def test_a_vss_vlan_4095_port_group_is_a_trunk_of_every_vlan() -> None:
    invs = {"ams": _inv(("vgt", 4095)), "fra": _inv(("fra-db", 300), ("fra-web", 301))}
    rows = [r for r in fleet_drift(invs, {"ams": "l2", "fra": "l2"}) if r.kind == TRUNK_REACH]
    assert [(r.vcenter_a, r.names_b, r.vlans) for r in rows] == [
        ("ams", ("fra-db", "fra-web"), "300,301")
    ]
    assert "(0-4094)" in rows[0].detail


def test_pvlan_ids_conflict_only_between_sites_sharing_l2() -> None:
    ams_map = [(300, 300, "promiscuous"), (300, 301, "isolated"), (300, 302, "community")]
    fra_map = [(300, 300, "promiscuous"), (300, 301, "community")]
    invs = {
        "ams": _dv(ams_map, {}),
        "fra": _dv(fra_map, {}, ("fra-legacy", 302)),
        "nyc": _dv(fra_map, {}, ("nyc-legacy", 302)),
    }
    rows = [r for r in fleet_drift(invs, {"ams": "eu", "fra": "eu"}) if r.kind == PVLAN_CONFLICT]
    got = [(r.vcenter_a, r.vcenter_b, r.vlan, r.names_a, r.names_b) for r in rows]
    assert got == [
        ("ams", "fra", 301, ("DVS0",), ("DVS0",)),
        ("ams", "fra", 302, ("DVS0",), ("fra-legacy",)),
    ]
    assert rows[0].detail == (
        "PVLAN 301 is isolated under primary 300 on DVS0 in ams but community under primary "
        "300 on DVS0 in fra: one L2 domain (eu) has one PVLAN map"
    )
    assert (
        "VLAN 302 is PVLAN community under primary 300 on DVS0 in ams and the plain VLAN "
        "of fra-legacy in fra" in rows[1].detail
    )
    # the same maps and no plain use of their ids: nothing to say
    same = {"ams": _dv(fra_map, {}), "fra": _dv(fra_map, {}, ("x", 5))}
    assert fleet_drift(same, {"ams": "eu", "fra": "eu"}) == []


def _pvlan_pg(name: str, pvlan_id: int) -> DistributedPortGroup:
    return DistributedPortGroup(
        moref=f"pg-{name}",
        key=name,
        name=name,
        dvs="DVS0",
        setting=DvPortSetting(vlan=VlanSpec(kind="pvlan", pvlan_id=pvlan_id)),
    )


def test_trunks_and_pvlan_port_groups_named_differently() -> None:
    pv = [(300, 300, "promiscuous"), (300, 301, "isolated")]
    ams = _dv(pv, {"Trunk-Apps": [(100, 199)]})
    fra = _dv(pv, {"trunk apps": [(100, 149), (150, 199)]})
    ams = ams.model_copy(
        update={
            "distributed_port_groups": [*ams.distributed_port_groups, _pvlan_pg("DMZ-Iso", 301)]
        }
    )
    fra = fra.model_copy(
        update={
            "distributed_port_groups": [*fra.distributed_port_groups, _pvlan_pg("dmz_iso", 301)]
        }
    )
    rows = fleet_drift({"ams": ams, "fra": fra}, {})  # no shared L2: spelling is drift anyway
    got = [(r.kind, r.vlan, r.vlans, r.detail) for r in rows]
    assert got == [
        (
            NAMED_DIFFERENTLY,
            100,
            "100-199",
            "trunk 100-199: 'Trunk-Apps' in ams is 'trunk apps' in fra",
        ),
        (NAMED_DIFFERENTLY, 301, "", "PVLAN 301: 'DMZ-Iso' in ams is 'dmz_iso' in fra"),
    ]
    assert rows[1].as_json()["vlans"] == "301"


def test_drift_rows_carry_their_vlans_to_json() -> None:
    invs = {
        "ams": _dv([], {"t": [(10, 20)]}),
        "fra": _dv([], {"T": [(10, 30)]}),
    }
    (row,) = fleet_drift(invs, {})
    doc = row.as_json()
    assert (doc["kind"], doc["vlan"], doc["vlans"], doc["l2_domain"]) == (
        TRUNK_RANGES,
        21,
        "10-20 / 10-30",
        None,
    )


def test_exit_code_says_partial() -> None:
    ok, bad = Outcome("a", "u", "ok"), Outcome("b", "u", "failed")
    assert exit_code([ok, ok], 2) == 2
    assert exit_code([ok, bad], 2) == 4
    assert exit_code([bad, bad], 0) == 1
    down = Outcome("c", "u", "failed", exit_code=5)
    assert exit_code([down, down], 0) == 5  # nothing reachable: as one vCenter would say
    assert exit_code([down, bad], 0) == 1
    assert exit_code([down, ok], 0) == 4


def test_only_without_fleet_and_server_with_fleet_are_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--only", "eu", "inventory"], env={"VNETTOOL_HOME": str(tmp_path)})
    assert res.exit_code == 1 and "--only selects vCenters of a fleet" in res.output
    fleet = _write(tmp_path, GOOD)
    res = runner.invoke(app, ["--fleet", str(fleet), "inventory", "--server", "x"])
    assert res.exit_code == 1 and "--server cannot be used with --fleet" in res.output
    os.environ.pop("VC_PASSWORD", None)


def test_commands_without_a_fleet_side_are_refused_with_fleet(tmp_path: Path) -> None:
    """A one-vCenter command under --fleet would connect to the default vCenter (the lab
    profile, the environment) and look like a fleet run: refused, naming the fleet commands."""
    runner = CliRunner()
    fleet = _write(tmp_path, GOOD)
    env = {"VNETTOOL_HOME": str(tmp_path)}
    for args in (
        ["topology", "--out", str(tmp_path / "t.svg")],
        ["inventory", "hosts"],
        ["latency", "watch"],
    ):
        res = runner.invoke(app, ["--fleet", str(fleet), *args], env=env)
        assert res.exit_code == 1, args
        assert "this command works on one vCenter: run it without --fleet" in res.output
        assert "whatif and tui" in res.output
    for args, option in (
        (["rebalance", "--every", "30s"], "--every"),
        (["rebalance", "--state", "s.json"], "--state"),
        (["whatif", "maintenance", "h", "--snapshot", "s.json"], "--snapshot"),
        (["tui", "--snapshot", "s.json"], "--snapshot"),
        (["run", "pb.yml", "--server", "x"], "--server"),
    ):
        res = runner.invoke(app, ["--fleet", str(fleet), *args], env=env)
        assert res.exit_code == 1 and f"{option} cannot be used with --fleet" in res.output, args
