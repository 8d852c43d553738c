"""Playbook validation cost: parse + includes + variables + pydantic + checks, by size.

Prints, for playbooks of N steps, the time to validate (offline and against an inventory),
per-step cost and the ratio to the smallest size (linear growth means the ratio tracks N).
Run: uv run python tests/bench/bench_playbook.py
"""

from __future__ import annotations

import time
from pathlib import Path

from vnettool.models.inventory import Inventory
from vnettool.playbook import validate

CORPUS = Path(__file__).parents[1] / "unit" / "playbook_corpus"
STEP = (
    "  - name: step {i}\n"
    "    tags: [t{m}]\n"
    "    assert:\n"
    "      scope: {{cluster: DC0_C0}}\n"
    "      that:\n"
    "        - portgroup: {{name: vMotion, vlan: '${{vlan}}'}}\n"
    "        - vmknic: {{service: vmotion, portgroup: vMotion, mtu: 9000}}\n"
)


def only_core(kind: str) -> str | None:
    return None if kind in ("assert", "snapshot") else "not in this build"


def text(n: int) -> str:
    return "vars: {vlan: 100}\nsteps:\n" + "".join(STEP.format(i=i, m=i % 7) for i in range(n))


def best_of(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    inv = Inventory.load(CORPUS / "inventory.json")
    print(
        f"{'steps':>6} {'lines':>7} {'offline s':>10} {'with inv s':>11} {'us/step':>8} {'ratio':>6}"
    )
    base = None
    for n in (10, 100, 1000, 5000):
        src = text(n)
        off = best_of(lambda src=src: validate(src, available=only_core))
        onl = best_of(lambda src=src: validate(src, available=only_core, inventory=inv))
        base = base or off
        print(
            f"{n:>6} {src.count(chr(10)):>7} {off:>10.3f} {onl:>11.3f} "
            f"{off / n * 1e6:>8.0f} {off / base:>6.1f}"
        )


if __name__ == "__main__":
    main()
