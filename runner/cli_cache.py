"""`dockstep cache ls` and `cache prune`: the dependency cache of this engine (`cache key`,
which reads a pipeline as `run` does, is in `cli.py`)."""

from __future__ import annotations

import os

import click

from runner.cli_common import exit_with


def _age(value: str | None) -> float | None:
    """`7d`, `12h`, `30m` or a number of seconds."""
    if value is None:
        return None
    from runner.format.fields import parse_duration

    days = value[:-1] if value.endswith("d") else None
    seconds = float(days) * 86400 if days and days.replace(".", "", 1).isdigit() else None
    seconds = seconds if seconds is not None else parse_duration(value)
    if seconds is None:
        raise click.BadParameter(f"expected an age like 7d, 12h or 30m, got {value!r}")
    return seconds


@click.group()
def cache() -> None:
    """The dependency cache: install layers and download-cache volumes."""


@cache.command("ls")
def cache_ls() -> None:
    """List cache layers and volumes: key, job, size, age, last used."""
    from runner.commands.cache import list_cache

    exit_with(lambda: list_cache(dict(os.environ)))


@cache.command("prune")
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Remove entries not used for this long, e.g. 7d [default: 7d].",
)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=None,
    help="Keep the N most recently used entries of each job.",
)
@click.option("--all", "everything", is_flag=True, help="Remove every entry, used or not.")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def cache_prune(older_than: str | None, keep: int | None, everything: bool, dry_run: bool) -> None:
    """Remove cache entries not used for a while (all projects on this engine)."""
    from runner.commands.cache import prune

    age = None if everything else _age(older_than or "7d")
    if not everything and not age:
        raise click.BadParameter(
            "must be longer than 0; use --all to remove everything", param_hint="--older-than"
        )
    keep = None if everything else keep
    exit_with(lambda: prune(dict(os.environ), older_than=age, keep=keep, dry_run=dry_run))
