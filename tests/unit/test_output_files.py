"""What a run may write and read: atomic private writes that no planted link can redirect,
clear errors for a directory or a missing one, and includes confined to the playbook's tree
without echoing a file that is not a playbook."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import snapshot
from vnettool.playbook import validate
from vnettool.playbook.errors import PlaybookError
from vnettool.userfile import UserFileError

VNETTOOL = str(Path(sys.executable).parent / "vnettool")


def test_save_replaces_a_planted_link_never_its_target(tmp_path: Path) -> None:
    inv = snapshot("corpus")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    out = tmp_path / "inv.json"
    out.symlink_to(victim)
    # the temporary names of the old writer, planted in advance
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        (tmp_path / f".inv.json.{pid}.tmp").symlink_to(victim)
    inv.save(out)
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert type(inv).load(out).hosts == inv.hosts
    leftovers = {p.name for p in tmp_path.iterdir()} - {"victim", "inv.json"}
    assert all(p.startswith(".inv.json.") and p.endswith(".tmp") for p in leftovers)
    assert len(leftovers) == 5, "only the planted links; no temporary file left behind"


def test_save_onto_a_directory_or_into_a_missing_one_is_a_clear_error(tmp_path: Path) -> None:
    inv = snapshot("corpus")
    with pytest.raises(UserFileError, match="is a directory; give a file name"):
        inv.save(tmp_path)
    with pytest.raises(UserFileError, match=r"directory .*/no/such does not exist"):
        inv.save(tmp_path / "no" / "such" / "inv.json")
    assert not (tmp_path / "no").exists()


def test_cli_save_errors_are_one_line_before_connecting(tmp_path: Path) -> None:
    for target, why in (
        (tmp_path, "is a directory"),
        (tmp_path / "missing" / "x.json", "does not exist"),
    ):
        out = subprocess.run(
            [VNETTOOL, "inventory", "--save", str(target)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=os.environ | {"VSPHERE_SERVER": "127.0.0.1:1", "VNETTOOL_HOME": str(tmp_path)},
        )
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert why in out.stderr and "127.0.0.1" not in out.stderr  # not even connected
        assert not (tmp_path / "missing").exists()


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-ROOT-LINE:/root:/bin/bash\n")
    (tmp_path / "pb").mkdir()
    return secret, tmp_path / "pb"


def test_include_outside_the_playbook_tree_is_refused(tmp_path: Path) -> None:
    secret, pb = _tree(tmp_path)
    for inc in ("../secret.txt", str(secret)):
        play = pb / "play.yml"
        play.write_text(f"steps:\n  - include: '{inc}'\n")
        with pytest.raises(PlaybookError) as err:
            validate(play)
        (issue,) = err.value.issues
        assert "outside the directory of the playbook" in issue.message
        assert "--include-anywhere" in issue.message
    (pb / "common").mkdir()
    (pb / "common" / "ok.yml").write_text("- snapshot: {path: reports/a.json}\n")
    (pb / "inside.yml").write_text("steps:\n  - include: common/ok.yml\n")
    assert [s.kind for s in validate(pb / "inside.yml").playbook.steps] == ["snapshot"]


def test_a_refused_include_deeper_down_names_the_top_level_playbook(tmp_path: Path) -> None:
    """The refusal is in a file the user never named: the error says which playbook (and
    which include steps) reached it; so does any other error in an included file."""
    _, pb = _tree(tmp_path)
    (pb / "common").mkdir()
    (pb / "site.yml").write_text(
        "steps:\n  - snapshot: {path: a.json}\n  - include: common/net.yml\n"
    )
    (pb / "common" / "net.yml").write_text("steps:\n  - include: ../../secret.txt\n")
    (pb / "other.yml").write_text("steps:\n  - include: common/typo.yml\n")
    (pb / "common" / "typo.yml").write_text("- snapshott: {path: a.json}\n")
    with pytest.raises(PlaybookError) as err:
        validate(pb / "site.yml")
    (issue,) = err.value.issues
    assert issue.location.file.endswith("common/net.yml")
    assert "outside the directory of the playbook" in issue.message
    assert str(pb / "site.yml") in issue.message or "site.yml (" in issue.message
    assert [v.file.rsplit("/", 1)[-1] for v in issue.via] == ["site.yml"]
    assert (issue.via[0].line, issue.via[0].col) == (3, 14)
    assert str(issue).endswith(f"(included from {issue.via[0]})")
    assert "SECRET-ROOT-LINE" not in str(err.value)
    with pytest.raises(PlaybookError) as err:
        validate(pb / "other.yml")
    (issue,) = err.value.issues
    assert issue.location.file.endswith("common/typo.yml") and "snapshott" in issue.message
    assert [(v.file.rsplit("/", 1)[-1], v.line) for v in issue.via] == [("other.yml", 2)]
    assert issue.as_dict()["included_from"] == [str(issue.via[0])]


def test_an_included_file_that_is_not_a_playbook_is_never_echoed(tmp_path: Path) -> None:
    _, pb = _tree(tmp_path)
    (pb / "play.yml").write_text("steps:\n  - include: ../secret.txt\n")
    (tmp_path / "broken.txt").write_text("key: [SECRET-ROOT-LINE\n")
    (pb / "play2.yml").write_text("steps:\n  - include: ../broken.txt\n")
    for play in ("play.yml", "play2.yml"):
        out = subprocess.run(
            [VNETTOOL, "playbook", "validate", "--include-anywhere", str(pb / play)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 1
        assert "SECRET-ROOT-LINE" not in out.stdout + out.stderr, out.stderr
        assert "Traceback" not in out.stderr
