"""A fleet file: the vCenters one command reads, audits or plans together.

Credentials are references only — names of environment variables, a file readable by its
owner alone, or an entry in the system keyring. A password written into the fleet file would
sit in version control and in every copy of the file; the model has no field that could hold
one, and the loader says so when someone tries.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from vnettool.models.base import Model

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""vCenter names and tags: they become file names, workbook cells and --only words."""
ENV_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"

Name = Annotated[str, Field(pattern=NAME_RE)]
EnvName = Annotated[str, Field(pattern=ENV_RE)]


class EnvCredentials(Model):
    """User and password from environment variables (a CI secret, a Kubernetes Secret)."""

    password_env: EnvName
    user_env: EnvName | None = None
    user: str | None = Field(None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _one_user(self) -> EnvCredentials:
        if (self.user is None) == (self.user_env is None):
            raise ValueError("give exactly one of 'user' or 'user_env'")
        return self


class FileCredentials(Model):
    """A YAML file with `user` and `password`, mode 0600 (checked when it is read)."""

    file: str = Field(min_length=1, max_length=4096)


class KeyringCredentials(Model):
    """The password stored in the system keyring under (service, user)."""

    keyring: str = Field(min_length=1, max_length=256, description="keyring service name")
    user: str = Field(min_length=1, max_length=256)


def _credential_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "file" in value:
            return "file"
        if "keyring" in value:
            return "keyring"
    return "env"


CredentialRef = Annotated[
    Annotated[EnvCredentials, Tag("env")]
    | Annotated[FileCredentials, Tag("file")]
    | Annotated[KeyringCredentials, Tag("keyring")],
    Discriminator(_credential_kind),
]


class VCenterEntry(Model):
    """One vCenter of the fleet."""

    name: Name
    url: str = Field(min_length=1, max_length=2048, description="host, host:port or https URL")
    tags: list[Name] = Field(default_factory=list)
    thumbprint: str | None = Field(
        None, pattern=r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$", description="SHA-256, hex"
    )
    ca_file: str | None = Field(None, min_length=1, max_length=4096)
    credentials: CredentialRef | None = None
    l2_domain: Name | None = Field(
        None, description="vCenters with the same value share layer 2: their VLANs may collide"
    )

    @field_validator("url")
    @classmethod
    def _https_only(cls, v: str) -> str:
        if "://" in v and not v.lower().startswith("https://"):
            raise ValueError("only https:// URLs (vCenter's API is served over TLS)")
        if re.search(r"//[^/]*@", v if "://" in v else "//" + v):
            raise ValueError("no user or password in the URL: use 'credentials'")
        return v


class Fleet(Model):
    """The fleet: defaults first, then the vCenters in the order results are shown."""

    version: Literal[1] = 1
    workers: int = Field(8, ge=1, le=64, description="vCenters worked on at once")
    timeout_s: float = Field(
        3600, gt=0, le=86400, description="a vCenter taking longer is stopped and failed"
    )
    credentials: CredentialRef | None = Field(
        None, description="used by every vCenter that names none"
    )
    vcenters: list[VCenterEntry] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _complete(self) -> Fleet:
        seen: set[str] = set()
        for vc in self.vcenters:
            if vc.name in seen:
                raise ValueError(f"vCenter name {vc.name!r} is used twice")
            seen.add(vc.name)
            if vc.credentials is None and self.credentials is None:
                raise ValueError(f"vCenter {vc.name!r} has no credentials and there is no default")
        return self

    def credentials_of(
        self, vc: VCenterEntry
    ) -> EnvCredentials | FileCredentials | KeyringCredentials:
        ref = vc.credentials or self.credentials
        assert ref is not None  # checked by _complete
        return ref

    def select(self, only: str | None) -> list[VCenterEntry]:
        """The vCenters named by `only` (comma-separated names or tags), all without it."""
        if not only:
            return list(self.vcenters)
        words = {w.strip() for w in only.split(",") if w.strip()}
        return [vc for vc in self.vcenters if vc.name in words or words & set(vc.tags)]
