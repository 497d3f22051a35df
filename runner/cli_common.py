"""What the CLI's modules share: running a command and turning its outcome into the
process's exit, and the shape of a `--registry` value."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from runner.errors import EXIT_INTERRUPTED, DockstepError


def exit_with(action: Callable[[], int]) -> None:
    try:
        code = action()
    except DockstepError as error:
        click.echo(error.render(), err=True)
        code = error.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # Cleanup is done; a job thread still blocked on the engine must not hold the exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def registry_option(value: str | None) -> str | None:
    """HOST:PORT/PATH (or HOST/PATH with a dotted host): where tasks pull layers from."""
    if value is None:
        return None
    host, _, path = value.strip("/").partition("/")
    if not path or not (":" in host or "." in host or host == "localhost") or "@" in value:
        raise click.BadParameter(
            f"expected HOST:PORT/PATH like 127.0.0.1:5000/dockstep, got {value!r}",
            param_hint="--registry",
        )
    return value.strip("/")
