"""The hostile-input corpus, generated: values vCenter would refuse (or read differently), hostile
names, hidden characters, exploding variables and special files — each the product of a place
in a document and a bad value, never a hand-written list of files.

Every case must give a located error (file:line:col), no traceback, exit code 1 and no change.
tests/unit/test_hostile_corpus.py runs them all in-process; tests/lab/test_hostile_apply.py
applies a sample to a lab next to a valid change and compares a fresh inventory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

VALID_PG = "{name: rt-valid, switch: vSwitch0, vlan: 10}"
"""A change that would be made if a bad document were applied half-way."""


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    text: str
    """YAML of the file; desired-state documents unless `playbook`."""
    playbook: bool = False

    def write(self, directory: Path) -> Path:
        path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.name)}.yml"
        path.write_text(self.text, encoding="utf-8")
        return path


# Places a number goes: a one-line desired-state document with {v} for the value.
NUMBER_PLACES = {
    "vss-mtu": "standard_switches:\n  - {{name: vs-rt, mtu: {v}}}\n",
    "pg-vlan": "standard_port_groups:\n  - {{name: pg-rt, switch: vSwitch0, vlan: {v}}}\n",
    "pg-average": "standard_port_groups:\n  - {{name: pg-rt, switch: vSwitch0, shaping: {{average_kbps: {v}}}}}\n",
    "pg-peak": "standard_port_groups:\n  - {{name: pg-rt, switch: vSwitch0, shaping: {{peak_kbps: {v}}}}}\n",
    "pg-burst": "standard_port_groups:\n  - {{name: pg-rt, switch: vSwitch0, shaping: {{burst_kb: {v}}}}}\n",
    "dvpg-vlan": "distributed_port_groups:\n  - {{name: dpg-rt, switch: DVS0, vlan: {v}}}\n",
    "dvpg-ports": "distributed_port_groups:\n  - {{name: dpg-rt, switch: DVS0, ports: {v}}}\n",
    "dvpg-burst": "distributed_port_groups:\n  - {{name: dpg-rt, switch: DVS0, ingress_shaping: {{burst_kb: {v}}}}}\n",
    "pvlan-primary": "pvlans:\n  - {{switch: DVS0, primary: {v}}}\n",
    "pvlan-isolated": "pvlans:\n  - {{switch: DVS0, primary: 300, isolated: {v}}}\n",
    "dvs-mtu": "distributed_switches:\n  - {{name: DVS0, max_mtu: {v}}}\n",
    "nioc-reservation": "distributed_switches:\n  - {{name: DVS0, traffic: {{vmotion: {{reservation_mbps: {v}}}}}}}\n",
    "nioc-limit": "distributed_switches:\n  - {{name: DVS0, traffic: {{vmotion: {{limit_mbps: {v}}}}}}}\n",
    "nioc-shares": "distributed_switches:\n  - {{name: DVS0, traffic: {{vmotion: {{shares: {v}}}}}}}\n",
    "lag-ports": "distributed_switches:\n  - {{name: DVS0, lags: [{{name: lag-rt, ports: {v}}}]}}\n",
    "migration-batch": "migrations: {{batch: {v}}}\n",
}
# Wrong for every place above: coerced types, overflow of the API's long, not numbers at all.
BAD_NUMBERS = {
    "true": "true",
    "false": "false",
    "string-100": '"100"',
    "1e3": "1e3",
    "float": "1.5",
    "2^63": str(2**63),
    "2^64": str(2**64),
    "-2^63-1": str(-(2**63) - 1),
    "list": "[]",
    "map": "{}",
    "nan": ".nan",
    "inf": ".inf",
    "hex-string": '"0x10"',
    "underscored": "'1_000'",
}

NAME_PLACES = {
    "vss-name": "standard_switches:\n  - {{name: {v}}}\n",
    "pg-name": "standard_port_groups:\n  - {{name: {v}, switch: vSwitch0}}\n",
    "pg-switch": "standard_port_groups:\n  - {{name: pg-rt, switch: {v}}}\n",
    "dvpg-name": "distributed_port_groups:\n  - {{name: {v}, switch: DVS0}}\n",
    "dvpg-switch": "distributed_port_groups:\n  - {{name: dpg-rt, switch: {v}}}\n",
    "dvs-name": "distributed_switches:\n  - {{name: {v}}}\n",
    "lag-name": "distributed_switches:\n  - {{name: DVS0, lags: [{{name: {v}}}]}}\n",
    "pvlan-switch": "pvlans:\n  - {{switch: {v}, primary: 300}}\n",
}
HIDDEN = {
    "rlo": "\u202e",
    "rli": "\u2067",
    "zwsp": "\u200b",
    "zwj": "\u200d",
    "bom": "\ufeff",
    "esc": "\x1b[31m",
    "bel": "\x07",
    "nul": "\x00",
    "c1-nel": "\x85",
    "line-sep": "\u2028",
}
BAD_NAMES = {
    **{k: f"ab{v}cd" for k, v in HIDDEN.items()},
    "newline": "ab\ncd",
    "tab": "ab\tcd",
    "leading-space": " abcd",
    "trailing-space": "abcd ",
    "nbsp": "ab\u00a0cd",
    "emoji": "ab\U0001f525",
    "private-use": "ab\ue000",
    "too-long": "n" * 81,
    "empty": "",
}

TEXT_PLACES = {
    "play-name": "name: {v}\nsteps:\n  - snapshot: {{path: a.json}}\n",
    "step-name": "steps:\n  - name: {v}\n    snapshot: {{path: a.json}}\n",
    "assert-message": "steps:\n  - assert: {{that: [{{hosts: {{min: 1}}}}], message: {v}}}\n",
    "snapshot-path": "steps:\n  - snapshot: {{path: {v}}}\n",
    "tag": "steps:\n  - tags: [{v}]\n    snapshot: {{path: a.json}}\n",
    "dvs-description": "distributed_switches:\n  - {{name: DVS0, description: {v}}}\n",
    "var-value": "vars: {{site: {v}}}\nsteps:\n  - snapshot: {{path: '${{site}}.json'}}\n",
    "key": "steps:\n  - snapshot: {{{v}: a.json}}\n",
}


def _quoted(value: str, ascii_only: bool) -> str:
    """A YAML double-quoted scalar (JSON is YAML): escapes, or the raw characters when the
    YAML reader takes them (it refuses raw C0/C1 controls, which is a located error too)."""
    return json.dumps(value, ensure_ascii=ascii_only)


def numbers() -> Iterator[Case]:
    for place, template in NUMBER_PLACES.items():
        for bad, literal in BAD_NUMBERS.items():
            yield Case("numbers", f"{place}-{bad}", template.format(v=literal))


def names() -> Iterator[Case]:
    for place, template in NAME_PLACES.items():
        for bad, value in BAD_NAMES.items():
            raw = bad in ("emoji", "rlo", "zwsp") and "dvs" in place
            yield Case("names", f"{place}-{bad}", template.format(v=_quoted(value, not raw)))


def hidden_text() -> Iterator[Case]:
    for place, template in TEXT_PLACES.items():
        playbook = not place.startswith("dvs")
        for bad, ch in HIDDEN.items():
            value = _quoted(f"x{ch}y", ascii_only=True)
            yield Case("hidden", f"{place}-{bad}", template.format(v=value), playbook)


def _doubling(levels: int, seed: str, item: str) -> str:
    lines = ["vars:", f"  v0: {seed}"]
    lines += [f"  v{i}: {item.format(p=f'v{i - 1}')}" for i in range(1, levels)]
    lines += ["steps:", f"  - snapshot: {{path: '${{v{levels - 1}}}.json'}}"]
    return "\n".join(lines) + "\n"


def explosions() -> Iterator[Case]:
    for levels in (22, 26, 30, 34, 40):
        yield Case(
            "variables",
            f"string-doubling-{levels}",
            _doubling(levels, "xy", '"${{{p}}}${{{p}}}"'),
            True,
        )
        yield Case(
            "variables",
            f"list-doubling-{levels}",
            _doubling(levels, "[1, 2]", '["${{{p}}}", "${{{p}}}"]'),
            True,
        )
        yield Case(
            "variables",
            f"quadrupling-{levels}",
            _doubling(levels, "ab", '"${{{p}}}${{{p}}}${{{p}}}${{{p}}}"'),
            True,
        )
    for levels in (33, 100, 2000):
        yield Case("variables", f"chain-{levels}", _doubling(levels, "x", '"${{{p}}}"'), True)


def corpus() -> list[Case]:
    return [*numbers(), *names(), *hidden_text(), *explosions()]


def special_files(directory: Path) -> dict[str, Path]:
    """Paths that are not regular files: endless devices, a pipe with no writer, a directory."""
    fifo = directory / "pipe.yml"
    if not fifo.exists():
        os.mkfifo(fifo)
    folder = directory / "folder.yml"
    folder.mkdir(exist_ok=True)
    return {
        "dev-zero": Path("/dev/zero"),
        "dev-urandom": Path("/dev/urandom"),
        "fifo": fifo,
        "directory": folder,
    }


LOCATED = re.compile(r"^(?P<file>\S[^:\n]*):(?P<line>\d+):(?P<col>\d+): ", re.MULTILINE)


def located(output: str, file_name: str) -> bool:
    """Whether `output` holds an error located in `file_name` (file:line:col: message)."""
    return any(Path(m.group("file")).name == file_name for m in LOCATED.finditer(output))
