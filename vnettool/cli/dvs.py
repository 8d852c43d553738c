"""`vnettool dvs export DVS --out F` and `vnettool dvs restore F [--as-new NAME]`.

The file is a desired-state document of the switch and its port groups (plan it, edit it,
apply it) plus `backup:`, vCenter's own export (DVSManagerExportEntity_Task, the blobs as
vCenter made them). `restore` imports that backup (DVSManagerImportEntity_Task):

- the switch still exists (same uuid): its settings and port groups are put back
  (`applyToEntitySpecified`; a port group deleted since is re-created, members stay);
- it was deleted: it is re-created with its uuid (`createEntityWithOriginalIdentifier`);
- `--as-new NAME`: a new switch NAME (new uuid) with the same settings; its port groups are
  named `NAME-<port group>` because port group names are unique in a datacenter (vnettool's
  choice; vCenter refuses duplicates). No hosts join it.

A restore is not an engine run (no plan to journal change by change): before changing an
existing switch it writes an export of the switch as it is now to
`$VNETTOOL_HOME/backups/` and prints the command that puts it back. Exit 0 done, 1 error,
5 vCenter unreachable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from ruamel.yaml import YAML

from vnettool.cli.common import (
    InsecureOpt,
    JsonOpt,
    ServerOpt,
    ThumbprintOpt,
    WaitOpt,
    console,
    err_console,
    run_lock,
    session_for,
)
from vnettool.cli.engine import fail
from vnettool.errors import ConfigError, VnetError

app = typer.Typer(help="Distributed switch backup: export to a plannable file, restore")


def export_document(session: Any, inv: Any, name: str) -> tuple[dict[str, Any], list[str]]:
    """The file's content and the fields its document cannot express (see engine/backup)."""
    from vnettool import engine
    from vnettool.engine.backup import switch_document
    from vnettool.engine.journal import instance_uuid
    from vnettool.models.desired import DesiredState
    from vnettool.vsphere.backup import export_switch

    sw = inv.dvs_by_name.get(name)
    if sw is None:
        known = ", ".join(sorted(inv.dvs_by_name)) or "none"
        raise ConfigError(f"no distributed switch {name!r} (switches: {known})")
    doc = switch_document(inv, name)
    left = engine.plan(DesiredState.model_validate(doc), inv)
    unexpressed = [f"{c.summary()}: {d.field}" for c in left.changes for d in c.diffs]
    entities = export_switch(session, sw, inv.dv_portgroups_of(name))
    doc["backup"] = {
        "format": "vnettool-dvs-backup/1",
        "vcenter": inv.vcenter,
        "instance_uuid": instance_uuid(session),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "switch": name,
        "uuid": sw.uuid,
        "entities": [e.model_dump(exclude_none=True) for e in entities],
    }
    return doc, unexpressed


def _write(path: Path, doc: dict[str, Any]) -> None:
    import io

    from vnettool import userfile

    buf = io.StringIO()
    buf.write(
        "# vnettool dvs export: a desired-state document of the switch (plan/edit/apply it)\n"
        "# and, under `backup:`, vCenter's own export for `vnettool dvs restore`.\n"
    )
    y = YAML()
    y.default_flow_style = False
    y.width = 100
    y.dump(doc, buf)
    userfile.write_text(path, buf.getvalue(), what="export", make_parents=True)


@app.command("export")
def export(
    switch: Annotated[str, typer.Argument(help="Distributed switch name")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (YAML)")],
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a switch and its port groups (vCenter's backup + a plannable document)."""
    from vnettool.inventory import collect

    try:
        with session_for(server, insecure, thumbprint) as session:
            doc, unexpressed = export_document(session, collect(session), switch)
        _write(out, doc)
    except VnetError as exc:
        raise fail(exc, as_json) from None
    n = len(doc["backup"]["entities"])
    if as_json:
        typer.echo(json.dumps({"file": str(out), "entities": n, "unexpressed": unexpressed}))
        return
    console.print(
        f"{switch}: exported to {out} (the switch and {n - 1} port group(s)); "
        f"`vnettool plan {out}` compares it with vCenter",
        highlight=False,
    )
    for line in unexpressed:
        err_console.print(f"[yellow]not in the document:[/] {escape(line)}", highlight=False)


def _confirm(yes: bool, what: str) -> None:
    import sys

    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{what}: confirmation needed; pass --yes")
    if not typer.confirm(f"{what}?", default=False):
        raise ConfigError("cancelled; nothing was changed")


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `vnettool dvs export`")],
    as_new: Annotated[
        str | None, typer.Option("--as-new", help="Create a new switch of this name instead")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Restore without asking")] = False,
    wait: WaitOpt = False,
    server: ServerOpt = None,
    insecure: InsecureOpt = False,
    thumbprint: ThumbprintOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import vCenter's backup from an export file: the switch's settings and port groups back,
    a deleted switch re-created, or (--as-new) a new switch with the same settings."""
    try:
        out = _restore(file, as_new, yes, wait, as_json, server, insecure, thumbprint)
    except VnetError as exc:
        raise fail(exc, as_json) from None
    if as_json:
        typer.echo(json.dumps(out))
    else:
        console.print(
            f"{out['switch']}: {out['action']} ({len(out['portgroups'])} port group(s))"
            + (f"; undo: vnettool dvs restore {out['undo']} --yes" if out.get("undo") else ""),
            highlight=False,
        )


def _restore(
    file: Path, as_new: str | None, yes: bool, wait: bool, as_json: bool, *conn: Any
) -> dict[str, Any]:
    from vnettool import paths
    from vnettool.inventory import collect
    from vnettool.models.text import name_problem
    from vnettool.playbook.desired_file import load_desired
    from vnettool.vsphere.backup import import_entities

    desired = load_desired(file)  # located errors for a damaged file
    b = desired.backup
    if b is None:
        raise ConfigError(f"{file}: no `backup:` section (write one with `vnettool dvs export`)")
    if as_new is not None and (why := name_problem(as_new)):
        raise ConfigError(f"--as-new {as_new!r}: the name {why}")
    with session_for(*conn) as session, run_lock(session, wait):
        inv = collect(session)
        by_uuid = {d.uuid: d for d in inv.distributed_switches}
        entities = list(b.entities)
        undo = None
        if as_new is not None:
            if as_new in inv.dvs_by_name:
                raise ConfigError(f"--as-new {as_new}: a distributed switch of that name exists")
            taken = {p.name for p in inv.distributed_port_groups}
            entities = [
                e.model_copy(
                    update={
                        "name": as_new
                        if e.entity_type == "distributedVirtualSwitch"
                        else f"{as_new}-{e.name}"
                    }
                )
                for e in entities
            ]
            clash = sorted(e.name for e in entities[1:] if e.name in taken)
            if clash:
                raise ConfigError(f"--as-new {as_new}: port groups named {clash} exist already")
            kind, action, target = (
                "createEntityWithNewIdentifier",
                "created from the backup",
                as_new,
            )
        elif b.uuid in by_uuid:
            current = by_uuid[b.uuid]
            kind, action, target = "applyToEntitySpecified", "restored", current.name
            if b.switch != current.name and b.switch in inv.dvs_by_name:
                raise ConfigError(
                    f"{b.switch}: the backup's switch is now named {current.name} and another "
                    f"switch is named {b.switch}; rename one first"
                )
        else:
            if b.switch in inv.dvs_by_name:
                raise ConfigError(
                    f"{b.switch}: a different switch of that name exists (not the exported "
                    "one, uuid differs); restore with --as-new NAME"
                )
            kind, action, target = (
                "createEntityWithOriginalIdentifier",
                "re-created with its uuid",
                b.switch,
            )
        _confirm(yes, f"{action.split(' ')[0]} {target} from {file}")
        if kind == "applyToEntitySpecified":
            doc, _ = export_document(session, inv, target)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            undo = paths.home() / "backups" / f"{stamp}-{target}.yml"
            _write(undo, doc)
        switches, pgs = import_entities(session, entities, kind, target)
    return {
        "switch": target,
        "action": action,
        "import_type": kind,
        "switch_moref": switches[0] if switches else None,
        "portgroups": pgs,
        "undo": str(undo) if undo else None,
    }
