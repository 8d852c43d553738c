"""Where vnettool keeps its files: one place for every state and cache path.

State (run journals, the rebalance state, the lab) lives under `$VNETTOOL_HOME` (default
`~/.vnettool`), so a second home isolates everything at once — tests and parallel labs rely on
it. Rebuildable things (the compiled simulator) go to the XDG cache. Every layer may import
this module; it imports nothing of vnettool's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("VNETTOOL_HOME", Path.home() / ".vnettool"))


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vnettool"


def runs_dir() -> Path:
    """The run journals (one JSON-lines file per apply or playbook run)."""
    return home() / "runs"


def lab_dir() -> Path:
    return home() / "lab"


def fleet_lab_dir() -> Path:
    """The labs of `vnettool lab start --fleet N`, one folder each, and their fleet.yml."""
    return home() / "fleet"


def rebalance_state(server_key: str) -> Path:
    """The rebalance state of one vCenter (shared by the CLI and playbooks)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", server_key)
    return home() / "rebalance" / f"state-{safe}.json"


def latency_history(server_key: str) -> Path:
    """The latency history of one vCenter (JSON lines, appended by every probe round)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", server_key)
    return home() / "latency" / f"history-{safe}.jsonl"
