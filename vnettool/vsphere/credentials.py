"""Where credentials come from: environment, govc's GOVC_URL, the lab profile, or a prompt.

Never from the command line, where they would land in shell history and process listings.
The password is held as a pydantic SecretStr so no repr, log line or error can show it.
"""

from __future__ import annotations

import getpass
import os
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from vnettool.errors import ConfigError
from vnettool.lab.runner import Lab

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RETRY_BUDGET_S = 30.0
_SECONDS = TypeAdapter(float)


def seconds_from_env(name: str, default: float, low: float) -> float:
    """A duration from the environment, refused with its name when it is not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = _SECONDS.validate_python(raw)
    except ValidationError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not low <= value <= 3600:
        raise ConfigError(f"{name}={raw!r}: must be between {low:g} and 3600 seconds")
    return value


class Credentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    port: int = 443
    path: str = "/sdk"
    user: str
    password: SecretStr
    thumbprint: str | None = None  # SHA-256, hex with or without colons
    insecure: bool = False
    ca_file: str | None = None  # PEM bundle trusted for this server ($VSPHERE_CA_FILE)
    source: str = "unknown"
    # every connect and every read of an answer ($VNETTOOL_TIMEOUT); then at most this long
    # retrying what is safe to retry ($VNETTOOL_RETRY_BUDGET)
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=3600)
    retry_budget_s: float = Field(DEFAULT_RETRY_BUDGET_S, ge=0, le=3600)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}{self.path}"


def parse_server(server: str) -> tuple[str, int, str, str | None, str | None]:
    """host, port, path, user, password from 'host', 'host:port' or a full URL."""
    if "://" not in server:
        server = "https://" + server
    try:  # urlsplit and .port raise ValueError on a bad IPv6 literal or port
        parts = urlsplit(server)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ConfigError(f"cannot read server {_no_password(server)!r}: {exc}") from None
    if not host:
        raise ConfigError(f"cannot read a host name from server {_no_password(server)!r}")
    _check_host_name(host, server)
    user = unquote(parts.username) if parts.username else None
    pwd = unquote(parts.password) if parts.password else None
    return host, port or 443, parts.path or "/sdk", user, pwd


def _check_host_name(host: str, server: str) -> None:
    """DNS limits (63 per label, 253 in all), checked here: the resolver's IDNA codec would
    otherwise fail deep inside the connection with a UnicodeError."""
    if ":" in host:  # an IPv6 literal
        return
    labels = host.rstrip(".").split(".")
    long = next((label for label in labels if len(label) > 63), None)
    if long is not None or len(host) > 253 or "" in labels:
        why = (
            f"label {long[:20]}… is {len(long)} characters (at most 63)"
            if long is not None
            else "it is not a valid DNS name"
        )
        raise ConfigError(f"cannot use server {_no_password(server)!r}: {why}")


def _no_password(server: str) -> str:
    """The server string for an error message, without a password in its user-info part."""
    scheme, sep, rest = server.partition("://")
    if not sep:
        scheme, rest = "", server
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return server
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{hostpart}"


def resolve(
    server: str | None = None,
    *,
    insecure: bool = False,
    thumbprint: str | None = None,
    interactive: bool = True,
    lab: Lab | None = None,
    ca_file: str | None = None,
) -> Credentials:
    """Credentials by precedence: VSPHERE_* env, GOVC_URL, the lab profile, a prompt."""
    env = os.environ
    if server and parse_server(server)[4] is not None:
        raise ConfigError(
            f"--server {_no_password(server)!r} carries a password: a command line lands in "
            "shell history and process listings; put it in VSPHERE_PASSWORD (or GOVC_URL)"
        )
    server = server or env.get("VSPHERE_SERVER")
    user = env.get("VSPHERE_USER")
    pwd = env.get("VSPHERE_PASSWORD")
    source = "environment"
    if not server and env.get("GOVC_URL"):
        server = env["GOVC_URL"]
        source = "GOVC_URL"
        user = user or env.get("GOVC_USERNAME")
        pwd = pwd or env.get("GOVC_PASSWORD")
        insecure = insecure or env.get("GOVC_INSECURE", "").lower() in ("1", "true")
    if not server:
        profile = (lab or Lab()).profile()
        if profile:
            server = profile["server"]
            user = user or profile.get("user")
            pwd = pwd or profile.get("password")
            thumbprint = thumbprint or profile.get("thumbprint")
            source = "lab profile"
    if not server:
        raise ConfigError(
            "no vCenter given: set VSPHERE_SERVER (and VSPHERE_USER / VSPHERE_PASSWORD), "
            "or GOVC_URL, or start the lab with `vnettool lab start`"
        )
    ca_file = ca_file or env.get("VSPHERE_CA_FILE") or None
    if ca_file and not os.path.isfile(ca_file):
        raise ConfigError(f"CA file {ca_file} (VSPHERE_CA_FILE) does not exist")
    host, port, path, url_user, url_pwd = parse_server(server)
    user = url_user or user
    pwd = url_pwd or pwd
    if not user or pwd is None:
        if not interactive:
            raise ConfigError(
                f"no user name or password for {host}: set VSPHERE_USER and VSPHERE_PASSWORD"
            )
        user = user or input(f"User for {host}: ")
        pwd = getpass.getpass(f"Password for {user}@{host}: ")
    return Credentials(
        host=host,
        port=port,
        path=path,
        user=user,
        password=SecretStr(pwd),
        thumbprint=thumbprint,
        insecure=insecure,
        ca_file=ca_file,
        source=source,
        timeout_s=seconds_from_env("VNETTOOL_TIMEOUT", DEFAULT_TIMEOUT_S, 0.1),
        retry_budget_s=seconds_from_env("VNETTOOL_RETRY_BUDGET", DEFAULT_RETRY_BUDGET_S, 0),
    )
