"""A vSphere session that retries what is safe, re-logs in once, and names every fault.

All calls to the server go through `Session.call`, so the retry and error policy lives in one
place: every socket has a connect and read timeout (`Credentials.timeout_s`), so a server that
accepts and never answers ends in a timeout instead of a hang; transient transport faults
(reset, timeout, HTTP 503) of reads are retried with exponential backoff up to a bounded total
(`Credentials.retry_budget_s`); `NotAuthenticated` triggers one re-login; anything else becomes
an `ApiFault` naming the operation and the object.

A write is different: when its answer is lost the request may well have run, and sending it
again can create a second object or fail on the first one. A write is therefore only resent
on an answer that proves it did not run (HTTP 503); any other lost answer is handed to the
write's own `done` check (a re-read: is the change in place?), see `Session.write`.
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
RETRY_TOTAL_S = 30.0  # the default retry budget (Credentials.retry_budget_s)
WRITE_ATTEMPTS = 3  # sends of one write whose answer was lost and that is not in place


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


def not_processed(exc: BaseException) -> bool:
    """An answer proving the server did not run the request: HTTP 503 (busy, try again).

    A reset, a timeout or a 502/504 from a proxy says nothing about whether it ran.
    """
    return isinstance(exc, http.client.HTTPException) and str(exc).startswith("503")


def closed_mid_call(exc: BaseException) -> bool:
    """The server (or a proxy) closed a connection it had accepted, before answering.

    It was reachable a moment ago, so calling it "unreachable" sends an admin to check the
    network when the server crashed or cut the call; the method and object name the request
    to look for in its logs.
    """
    return isinstance(
        exc,
        (
            ConnectionResetError,  # includes http.client.RemoteDisconnected
            ConnectionAbortedError,
            BrokenPipeError,
            http.client.IncompleteRead,
            http.client.BadStatusLine,
            ssl.SSLEOFError,
            ssl.SSLZeroReturnError,
        ),
    )


def lost_how(op: str, obj: str | None, exc: BaseException) -> str:
    """'the server closed the connection during OP on OBJ' or 'OP on OBJ: ...' for the rest."""
    where = f"{op}{' on ' + obj if obj else ''}"
    if closed_mid_call(exc):
        return f"the server closed the connection during {where} ({type(exc).__name__}: {exc})"
    return f"{where}: the answer was lost ({type(exc).__name__}: {exc})"


class AnswerLost(ConnectionFailed):
    """A write was sent and no answer came back: it may or may not have run."""

    def __init__(self, op: str, obj: str | None, cause: BaseException) -> None:
        super().__init__(
            f"{lost_how(op, obj, cause)}; "
            "the change may or may not have been applied — plan again to see"
        )
        self.op, self.obj, self.cause = op, obj, cause


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("transient fault (%s), retry %d", type(exc).__name__, state.attempt_number)


def with_retries(
    fn: Callable[[], T],
    budget_s: float | None = None,
    retryable: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Run `fn`, retrying `retryable` faults with exponential backoff up to a bounded total.

    The total is `budget_s` (default RETRY_TOTAL_S, read when it runs): the last attempt
    starts before it ends, so a call returns within the budget plus one timeout.
    """
    policy = retry(
        retry=retry_if_exception(retryable),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_attempt(RETRY_ATTEMPTS)
        | stop_after_delay(RETRY_TOTAL_S if budget_s is None else budget_s),
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

    @property
    def instance_key(self) -> str:
        """Which vCenter this is however it was addressed (localhost, 127.0.0.1, an alias):
        its instance UUID; host:port only for a server without one (a bare ESXi)."""
        uuid = getattr(self.about, "instanceUuid", None)
        return str(uuid) if uuid else f"{self.creds.host}:{self.creds.port}"

    def max_wait_s(self, wanted: int) -> int:
        """A WaitForUpdatesEx wait that ends before the read timeout would cut it off."""
        return max(1, min(wanted, int(self.creds.timeout_s) - 1))

    def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        op: str = "",
        obj: str | None = None,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> T:
        """Invoke one API method with the session's retry, re-login and fault policy.

        `idempotent=False` (a write that must not run twice): only an HTTP 503 is retried;
        a lost answer raises `AnswerLost` for `write` to settle by re-reading.
        """
        op = op or getattr(fn, "__name__", "call")
        retryable = is_transient if idempotent else not_processed
        relogged = False

        while True:
            logins = self._logins
            try:
                return with_retries(
                    lambda: fn(*args, **kwargs), self.creds.retry_budget_s, retryable
                )
            except vim.fault.NotAuthenticated as exc:  # refused before it ran: safe to resend
                if relogged:
                    raise ApiFault(
                        op, obj, "NotAuthenticated", "session expired again after re-login"
                    ) from exc
                self.relogin(logins)
                relogged = True
            except vmodl.MethodFault as exc:
                raise ApiFault(op, obj, fault_name(exc), fault_message(exc)) from exc
            except PinMismatch as exc:  # refused before a byte was sent: nothing ran
                raise pin_refused(self.creds, exc, f"{op}{' on ' + obj if obj else ''}") from exc
            except (OSError, http.client.HTTPException) as exc:
                if not idempotent and is_transient(exc) and not not_processed(exc):
                    raise AnswerLost(op, obj, exc) from exc
                if closed_mid_call(exc):
                    raise ConnectionFailed(
                        f"{lost_how(op, obj, exc)}; retried for up to "
                        f"{self.creds.retry_budget_s:g} s (VNETTOOL_RETRY_BUDGET)"
                    ) from exc
                raise ConnectionFailed(
                    f"{op}{' on ' + obj if obj else ''}: {self.creds.host} unreachable: "
                    f"{why_failed(exc, self.creds)}"
                ) from exc
            except (ExpatError, TypeError, KeyError, ValueError, AttributeError) as exc:
                if not malformed_answer(exc):
                    raise
                if not idempotent:
                    raise AnswerLost(op, obj, exc) from exc
                raise ApiFault(
                    op,
                    obj,
                    "MalformedResponse",
                    f"{self.creds.host} sent an answer that is not valid SOAP ({exc}); "
                    "nothing was read from it",
                ) from exc

    def write(self, send: Callable[[], T], done: Callable[[], T | None], *, op: str, obj: str) -> T:
        """Run a write (`send`, whose calls pass idempotent=False) at most as often as needed.

        When its answer is lost, `done` re-reads the object: a result means the change is in
        place (the lost answer was a success) and is returned; None means it did not run, so
        it is sent again. A fault on a resend (say DuplicateName, the first send having
        completed meanwhile) is settled by the same re-read.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return send()
            except AnswerLost as exc:
                found = done()
                if found is not None:
                    log.warning("%s on %s: answer lost, the change is in place", op, obj)
                    return found
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.warning("%s on %s: answer lost, not in place; sending again (%s)", op, obj, exc)
            except ApiFault:
                if attempt == 1:
                    raise
                found = done()
                if found is None:
                    raise
                return found
        raise AssertionError("unreachable")

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


class TimedContext(ssl.SSLContext):
    """An SSL context that gives every socket it wraps a timeout before the handshake.

    pyVmomi passes its `httpConnectionTimeout` to the SOAP connections, but the API version
    discovery of SmartConnect opens its own connection without one: a server that accepts
    and never answers would hang there forever. Every connection goes through this context.
    """

    timeout_s: float | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        sock = args[0] if args else kwargs.get("sock")
        if isinstance(sock, socket.socket) and sock.gettimeout() is None:
            sock.settimeout(self.timeout_s)
        return super().wrap_socket(*args, **kwargs)


class PinnedContext(TimedContext):
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
    ctx: TimedContext
    if creds.thumbprint:
        ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.pin = creds.thumbprint.replace(":", "").lower()
    else:
        ctx = TimedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.timeout_s = creds.timeout_s
    if creds.thumbprint or creds.insecure:  # the pin replaces the chain; or no check at all
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    # chain AND host name verified, as ssl.create_default_context would
    ctx.verify_flags = ssl.create_default_context().verify_flags
    if creds.ca_file:  # against this CA instead of the system's
        ctx.load_verify_locations(cafile=creds.ca_file)
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return ctx


def connect(creds: Credentials) -> Session:
    """Log in; TLS is verified unless `insecure`, or pinned to the SHA-256 `thumbprint`."""

    def attempt() -> Any:
        # the version discovery's TCP connect has no timeout of its own: probe first
        socket.create_connection((creds.host, creds.port), timeout=creds.timeout_s).close()
        return pyvim_connect.SmartConnect(
            host=creds.host,
            port=creds.port,
            path=creds.path,
            user=creds.user,
            pwd=creds.password.get_secret_value(),
            sslContext=_ssl_context(creds),
            connectionPoolTimeout=-1,
            httpConnectionTimeout=creds.timeout_s,
        )

    try:
        si = with_retries(attempt, creds.retry_budget_s)
    except vim.fault.InvalidLogin as exc:
        raise login_refused(creds) from exc
    except PinMismatch as exc:
        raise pin_refused(creds, exc) from exc
    except ssl.SSLCertVerificationError as exc:
        seen = observed_fingerprint(creds)
        pin = (
            f"Its SHA-256 fingerprint is {seen}: compare it with the server's own (on vCenter: "
            "`govc about.cert -thumbprint`, or the appliance console) and pin it with "
            f"--thumbprint {seen}, or trust its CA with VSPHERE_CA_FILE=ca.pem"
            if seen
            else "Trust its CA with VSPHERE_CA_FILE=ca.pem, or pin it with --thumbprint SHA256"
        )
        raise ConnectionFailed(
            f"TLS certificate of {creds.host}:{creds.port} is not trusted ({exc.verify_message}). "
            f"{pin}; or pass --insecure if you accept an unverified connection"
        ) from exc
    except vmodl.MethodFault as exc:
        raise ApiFault("Login", creds.host, fault_name(exc), fault_message(exc)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionFailed(
            f"cannot reach {creds.host}:{creds.port}: {why_failed(exc, creds)}"
        ) from exc
    return Session(creds, si)


def observed_fingerprint(creds: Credentials) -> str | None:
    """The SHA-256 fingerprint of the certificate the server presents, read without
    verifying it (nothing is sent but the TLS handshake), so the refusal can say what to
    check and pin, as govc's `about.cert -thumbprint` does. None if it cannot be read."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((creds.host, creds.port), timeout=creds.timeout_s) as sock,
            ctx.wrap_socket(sock, server_hostname=creds.host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    if not der:
        return None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def pin_refused(creds: Credentials, exc: PinMismatch, during: str = "") -> ConnectionFailed:
    """A connection error (exit 2) whether the pin fails at login or on a connection opened
    later in the run: the certificate changed under a live session, which is no API fault."""
    when = (
        f"; a new connection during {during} met another certificate than the one this "
        "session started with"
        if during
        else ""
    )
    return ConnectionFailed(
        f"TLS certificate of {creds.host}:{creds.port} does not match the pinned thumbprint "
        f"(expected {exc.expected}, server has {exc.actual}); refusing to connect{when}"
    )


def why_failed(exc: BaseException, creds: Credentials) -> str:
    """The transport fault in words; a timeout names the setting that bounds it."""
    if isinstance(exc, TimeoutError):
        return (
            f"no answer within {creds.timeout_s:g} s (VNETTOOL_TIMEOUT), "
            f"retried for {creds.retry_budget_s:g} s (VNETTOOL_RETRY_BUDGET)"
        )
    return str(exc)
