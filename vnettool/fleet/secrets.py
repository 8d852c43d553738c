"""A fleet entry's credential reference → user and password, at the moment of use.

The password is never written anywhere by vnettool: it is read from the variable, file or
keyring the fleet file names, held as a SecretStr, and handed to the one child process that
talks to that vCenter through its environment (readable by the same user only, unlike a
command line, which every user of the machine sees in /proc).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import SecretStr

from vnettool import userfile
from vnettool.errors import ConfigError
from vnettool.models.fleet import EnvCredentials, FileCredentials, KeyringCredentials

CredentialRef = EnvCredentials | FileCredentials | KeyringCredentials


def resolve(
    ref: CredentialRef, base_dir: Path, env: dict[str, str] | None = None
) -> tuple[str, SecretStr]:
    """(user, password) for `ref`; relative files are read from the fleet file's folder."""
    env = dict(os.environ) if env is None else env
    if isinstance(ref, EnvCredentials):
        return _from_env(ref, env)
    if isinstance(ref, FileCredentials):
        return _from_file(base_dir / Path(ref.file).expanduser())
    return _from_keyring(ref)


def _from_env(ref: EnvCredentials, env: dict[str, str]) -> tuple[str, SecretStr]:
    user = ref.user
    if ref.user_env is not None:
        user = env.get(ref.user_env)
        if not user:
            raise ConfigError(f"environment variable {ref.user_env} (the user) is not set")
    pwd = env.get(ref.password_env)
    if pwd is None:
        raise ConfigError(f"environment variable {ref.password_env} (the password) is not set")
    assert user is not None  # the model requires user or user_env
    return user, SecretStr(pwd)


def _from_file(path: Path) -> tuple[str, SecretStr]:
    """A YAML mapping with `user` and `password`, owned by us and readable by nobody else.

    Errors name the file and the problem, never a line of it: the line could be the password.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"credentials file {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        raise ConfigError(
            f"credentials file {path} is mode {stat.S_IMODE(st.st_mode):04o}: others can read "
            f"it; make it private with: chmod 600 {path}"
        )
    if stat.S_ISREG(st.st_mode) and st.st_uid != os.getuid():
        raise ConfigError(f"credentials file {path} belongs to another user")
    text = userfile.read_text(path, limit=64 * 1024, what="credentials file")
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        raise ConfigError(f"credentials file {path} is not YAML (its text is not shown)") from None
    if not isinstance(data, dict) or set(data) - {"user", "password"}:
        raise ConfigError(f"credentials file {path}: expected exactly the keys user and password")
    user, pwd = data.get("user"), data.get("password")
    if not isinstance(user, str) or not user or not isinstance(pwd, str | int):
        raise ConfigError(f"credentials file {path}: user and password must both be given")
    return user, SecretStr(str(pwd))


def _from_keyring(ref: KeyringCredentials) -> tuple[str, SecretStr]:
    import keyring
    from keyring.errors import KeyringError

    try:
        pwd = keyring.get_password(ref.keyring, ref.user)
    except KeyringError as exc:
        raise ConfigError(
            f"keyring {ref.keyring!r} for {ref.user}: {exc} (is a keyring backend available? "
            "`keyring --list-backends`)"
        ) from None
    if pwd is None:
        raise ConfigError(
            f"no password in the keyring for service {ref.keyring!r}, user {ref.user!r}; "
            f"store one with: keyring set {ref.keyring} {ref.user}"
        )
    return ref.user, SecretStr(pwd)
