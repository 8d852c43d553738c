"""A vSphere session that retries what is transient, re-logs in once, and names every fault.

All calls to the server go through `Session.call`, so the retry and error policy lives in one
place: transient transport faults (reset, timeout, HTTP 503) are retried with exponential
backoff up to a bounded total; `NotAuthenticated` triggers one re-login; anything else becomes
an `ApiFault` naming the operation and the object.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

from pyVim import connect as pyvim_connect
from pyVmomi import vim, vmodl
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from vnettool.errors import ApiFault, AuthenticationFailed, ConnectionFailed
from vnettool.vsphere.credentials import Credentials

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_ATTEMPTS = 6
RETRY_TOTAL_S = 30.0


def is_transient(exc: BaseException) -> bool:
    """Faults worth retrying: the request was fine, the transport or server was not.

    A refused connection is not retried: nothing listens there, and waiting will not help.
    """
    if isinstance(exc, ConnectionRefusedError):
        return False
    if isinstance(
        exc, (ConnectionError, socket.timeout, TimeoutError, http.client.RemoteDisconnected)
    ):
        return True
    if isinstance(exc, http.client.HTTPException):
        text = str(exc)
        return text.startswith(("503", "502", "504")) or isinstance(
            exc, (http.client.IncompleteRead, http.client.BadStatusLine)
        )
    return isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("transient fault (%s), retry %d", type(exc).__name__, state.attempt_number)


def with_retries(fn: Callable[[], T]) -> T:
    """Run `fn`, retrying transient faults with exponential backoff up to a bounded total.

    The policy is built per call so RETRY_ATTEMPTS / RETRY_TOTAL_S are read when it runs.
    """
    policy = retry(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_attempt(RETRY_ATTEMPTS) | stop_after_delay(RETRY_TOTAL_S),
        before_sleep=_log_retry,
        reraise=True,
    )
    return policy(fn)()


def login_refused(creds: Credentials) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"login to {creds.host} as {creds.user} refused: wrong user name or password"
    )


def fault_name(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, vmodl.MethodFault):
        # pyVmomi class names look like 'vim.fault.ConcurrentAccess'
        name = exc._wsdlName  # type: ignore[attr-defined]
    return str(name)


def fault_message(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or ""
    if not msg and getattr(exc, "faultMessage", None):
        msg = "; ".join(str(m.message) for m in exc.faultMessage if getattr(m, "message", None))  # type: ignore[attr-defined]
    return str(msg) if msg else str(exc) if not isinstance(exc, vmodl.MethodFault) else ""


def malformed_answer(exc: BaseException) -> bool:
    """True when pyVmomi failed while decoding the server's answer (not on our arguments).

    A broken server or proxy can send ill-formed or truncated XML; pyVmomi's deserializer then
    raises ExpatError or, mid-object, TypeError/KeyError/ValueError. Only errors raised inside
    its response deserializer count, so a bug in our own call still shows as itself.
    """
    if isinstance(exc, ExpatError):
        return True
    if not isinstance(exc, (TypeError, KeyError, ValueError, AttributeError)):
        return False
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if Path(code.co_filename).name == "SoapAdapter.py" and code.co_name in (
            "Deserialize",
            "StartElementHandler",
            "EndElementHandler",
        ):
            return True
        tb = tb.tb_next
    return False


class Session:
    """A logged-in connection. Use as a context manager so the session is logged out."""

    def __init__(self, creds: Credentials, si: Any) -> None:
        self.creds = creds
        self.si = si
        self.content: Any = si.RetrieveContent()
        # Re-logins are serialized and counted: when concurrent calls all meet the expiry,
        # one logs in; the others see the count moved and just retry (a second Login on the
        # now valid session is refused by vCenter as InvalidLogin).
        self._login_lock = threading.Lock()
        self._logins = 0

    def __repr__(self) -> str:
        return f"Session({self.creds.user}@{self.creds.host}:{self.creds.port})"

    @property
    def about(self) -> Any:
        return self.content.about

    @property
    def stub(self) -> Any:
        return self.si._stub

    def call(
        self, fn: Callable[..., T], *args: Any, op: str = "", obj: str | None = None, **kwargs: Any
    ) -> T:
        """Invoke one API method with the session's retry, re-login and fault policy."""
        op = op or getattr(fn, "__name__", "call")
        relogged = False

        while True:
            logins = self._logins
            try:
                return with_retries(lambda: fn(*args, **kwargs))
            except vim.fault.NotAuthenticated as exc:
                if relogged:
                    raise ApiFault(
                        op, obj, "NotAuthenticated", "session expired again after re-login"
                    ) from exc
                self.relogin(logins)
                relogged = True
            except vmodl.MethodFault as exc:
                raise ApiFault(op, obj, fault_name(exc), fault_message(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise ConnectionFailed(
                    f"{op}{' on ' + obj if obj else ''}: {self.creds.host} unreachable: {exc}"
                ) from exc
            except (ExpatError, TypeError, KeyError, ValueError, AttributeError) as exc:
                if not malformed_answer(exc):
                    raise
                raise ApiFault(
                    op,
                    obj,
                    "MalformedResponse",
                    f"{self.creds.host} sent an answer that is not valid SOAP ({exc}); "
                    "nothing was read from it",
                ) from exc

    def relogin(self, seen: int) -> None:
        """Log in again unless another thread did since `seen` (its count of logins)."""
        with self._login_lock:
            if self._logins != seen:
                return
            log.info("session expired; logging in again")
            self.login()
            self._logins += 1

    def login(self) -> None:
        try:
            self.content.sessionManager.Login(
                self.creds.user, self.creds.password.get_secret_value()
            )
        except vim.fault.InvalidLogin as exc:
            raise login_refused(self.creds) from exc

    def logout(self) -> None:
        try:
            pyvim_connect.Disconnect(self.si)
        except Exception as exc:
            log.debug("logout failed: %s", exc)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.logout()


class PinMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one (raised on the connection itself)."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"certificate SHA-256 {actual} is not the pinned {expected}")
        self.expected, self.actual = expected, actual


class PinnedContext(ssl.SSLContext):
    """An SSL context that accepts exactly one certificate, by SHA-256 fingerprint.

    The pin is checked on every connection pyVmomi's pool opens, right after the handshake
    and before a byte of the request is sent, so there is no window between a check and use.
    (pyVmomi's own `thumbprint` is only consulted when chain verification fails, and then
    turns verification off on the shared context for later connections.)
    """

    pin: str = ""

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        sock = super().wrap_socket(*args, **kwargs)
        der = sock.getpeercert(binary_form=True) or b""
        actual = hashlib.sha256(der).hexdigest()
        if actual != self.pin:
            sock.close()
            raise PinMismatch(self.pin, actual)
        return sock


def _ssl_context(creds: Credentials) -> ssl.SSLContext:
    if creds.thumbprint:
        ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the pin replaces the chain
        ctx.pin = creds.thumbprint.replace(":", "").lower()
        return ctx
    if creds.insecure:
        return ssl._create_unverified_context()
    if creds.ca_file:  # chain AND host name verified, against this CA instead of the system's
        return ssl.create_default_context(cafile=creds.ca_file)
    return ssl.create_default_context()


def connect(creds: Credentials) -> Session:
    """Log in; TLS is verified unless `insecure`, or pinned to the SHA-256 `thumbprint`."""

    def attempt() -> Any:
        return pyvim_connect.SmartConnect(
            host=creds.host,
            port=creds.port,
            path=creds.path,
            user=creds.user,
            pwd=creds.password.get_secret_value(),
            sslContext=_ssl_context(creds),
            connectionPoolTimeout=-1,
        )

    try:
        si = with_retries(attempt)
    except vim.fault.InvalidLogin as exc:
        raise login_refused(creds) from exc
    except PinMismatch as exc:
        raise ConnectionFailed(
            f"TLS certificate of {creds.host}:{creds.port} does not match the pinned "
            f"thumbprint (expected {exc.expected}, server has {exc.actual}); refusing to connect"
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConnectionFailed(
            f"TLS certificate of {creds.host}:{creds.port} is not trusted ({exc.verify_message}). "
            "Trust its CA with VSPHERE_CA_FILE=ca.pem, pin it with --thumbprint SHA256, "
            "or pass --insecure "
            "if you accept an unverified connection"
        ) from exc
    except vmodl.MethodFault as exc:
        raise ApiFault("Login", creds.host, fault_name(exc), fault_message(exc)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionFailed(f"cannot reach {creds.host}:{creds.port}: {exc}") from exc
    return Session(creds, si)
