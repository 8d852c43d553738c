"""What every command shares: connection options, error handling, console output."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vnettool.errors import VnetError

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        help="vCenter/ESXi host or URL (default: $VSPHERE_SERVER, $GOVC_URL, the lab)",
    ),
]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Accept an unverified TLS certificate (explicit opt-out)")
]
ThumbprintOpt = Annotated[
    str | None,
    typer.Option("--thumbprint", help="Pin the server certificate's SHA-256 fingerprint"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]


def handle_errors(fn: F) -> F:
    """Turn vnettool errors into one red line and the error's exit code — no tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VnetError as exc:
            # Escaped (a file name like 'a[b].yml' is not markup) and never wrapped: a path
            # broken over two lines cannot be copied.
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def session_for(server: str | None, insecure: bool, thumbprint: str | None) -> Iterator[Any]:
    """A logged-in session, logged out on exit."""
    from vnettool.vsphere.connection import connect
    from vnettool.vsphere.credentials import resolve

    creds = resolve(
        server, insecure=insecure, thumbprint=thumbprint, interactive=sys.stdin.isatty()
    )
    warn_insecure(creds)
    with connect(creds) as session:
        yield session


def warn_insecure(creds: Any) -> None:
    """Say so whenever TLS is not verified: a man in the middle would see the password."""
    if creds.insecure and not creds.thumbprint:
        err_console.print(
            f"[yellow]warning:[/] the TLS certificate of {creds.host} is NOT verified "
            "(--insecure or GOVC_INSECURE); pin it with --thumbprint or trust its CA with "
            "VSPHERE_CA_FILE",
            highlight=False,
        )


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
