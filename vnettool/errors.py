"""vnettool's own errors: every failure a user sees is one of these, never a raw traceback."""

from __future__ import annotations


class VnetError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1


# 5, not 2: plan/apply/run/audit/whatif exit 2 for "changes pending" / "findings", and a
# script or monitor must not read an unreachable vCenter as either (nor as 3, `latency
# probe --mtu`, or 4, a partial fleet run).
UNREACHABLE = 5


class ConnectionFailed(VnetError):
    """The server could not be reached or refused the TLS handshake."""

    exit_code = UNREACHABLE


class AuthenticationFailed(VnetError):
    exit_code = UNREACHABLE


class ApiFault(VnetError):
    """A vSphere fault, named with the object and operation it concerns."""

    def __init__(self, operation: str, obj: str | None, fault: str, message: str = "") -> None:
        self.operation = operation
        self.obj = obj
        self.fault = fault
        self.message = message
        where = f" on {obj}" if obj else ""
        detail = f": {message}" if message else ""
        super().__init__(f"{operation}{where} failed with {fault}{detail}")


class ConfigError(VnetError):
    """Bad input (playbook, flags, desired state); nothing was changed."""
