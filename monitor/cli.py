"""``monitor`` — the command line. A thin layer: each command calls one module's function.

Errors the user can fix (bad config, unreachable database) print one line and exit 2;
commands never print a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError, NotYetAvailable


class Ctx:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def engine(self, require: bool = True):  # noqa: ANN201
        from monitor.db import get_engine, require_schema

        engine = get_engine(self.config.database_url)
        if require:
            require_schema(engine)
        return engine


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can act on into one line on stderr and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except NotYetAvailable as exc:
            click.echo(f"not available yet: {exc}", err=True)
            sys.exit(3)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except _db_errors() as exc:  # type: ignore[misc]
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            click.echo(f"error: database: {first}", err=True)
            sys.exit(2)

    return wrapper


def _db_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import OperationalError

    return (OperationalError,)


def _need(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("monitor"):
            raise NotYetAvailable(f"{what} has not landed yet ({module})") from None
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="MONITOR_CONFIG",
    help="Config file (default config/monitor.toml; MONITOR_CONFIG also works).",
)
@click.version_option(package_name="newsroom-discrepancy-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Newsroom discrepancy monitor: what coverage of a story reports differently from its
    baseline article, delivered as a daily digest with the change history behind every item."""
    ctx.obj = Ctx(config_path)
    # Refuse a bad config at start, before any work; `extract` and `demo` can run without one.
    if ctx.invoked_subcommand not in (None, "extract", "demo") and not ctx.resilient_parsing:
        _load_or_exit(ctx.obj)


def _load_or_exit(obj: Ctx) -> None:
    try:
        obj.config  # noqa: B018 - loads and validates
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@cli.command()
@click.pass_obj
@friendly
def init(obj: Ctx) -> None:
    """Create or upgrade the database and load the story baseline."""
    from monitor.db import get_engine, upgrade
    from monitor.setup import load_story_into_db, sync_feeds

    engine = get_engine(obj.config.database_url)
    before, after = upgrade(engine)
    feeds = sync_feeds(obj.config, engine)
    story_line = load_story_into_db(obj.config, engine)
    state = "created" if before is None else ("upgraded" if before != after else "up to date")
    click.echo(f"database {state} (schema {after}); {feeds}; {story_line}")


@cli.command()
@click.option("--once", is_flag=True, required=True, help="Run one full cycle now and exit.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@click.pass_obj
@friendly
def poll(obj: Ctx, once: bool, progress: bool | None) -> None:
    """Poll the feeds once: fetch, extract, compare, store. Exits 0 even when some feeds fail."""
    cycle = _need("monitor.cycle", "the poll cycle")
    from monitor.setup import sync_feeds

    engine = obj.engine()
    sync_feeds(obj.config, engine)
    show = sys.stderr.isatty() if progress is None else progress
    summary = cycle.run_cycle(obj.config, engine, progress=show)
    for problem in summary.problems:
        click.echo(f"feed failed: {problem}", err=True)
    click.echo(summary.line())


@cli.command()
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes to start and supervise (more than one needs PostgreSQL).",
)
@click.pass_obj
@friendly
def run(obj: Ctx, workers: int) -> None:
    """The long-running service: scheduled poll and daily digest jobs.

    Several workers (this option, or the command run on several machines against one
    PostgreSQL database) share the feeds between them; each digest is sent once."""
    service = _need("monitor.service", "the scheduled service")
    obj.engine()
    if workers == 1:
        service.run_service(obj.config)
    else:
        sys.exit(service.run_workers(obj.config, workers))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the contract).")
@click.option("--story", default=None, help="Story folder or key (default: the config's story).")
@click.pass_obj
@friendly
def extract(obj: Ctx, as_json: bool, story: str | None) -> None:
    """Print the claims (figures and statements) of the text on standard input."""
    from monitor.extract import extract as run_extract

    text = sys.stdin.read()
    story_ref = story or _story_folder_or_none(obj)
    claims = run_extract(text, story_ref)
    for claim in claims:
        if as_json:
            click.echo(json.dumps(claim, ensure_ascii=False))
        else:
            click.echo(_claim_line(claim))
    if not as_json and not claims:
        click.echo("no figures or statements found")


def _story_folder_or_none(obj: Ctx) -> str | None:
    try:
        return str(obj.config.story_folder)
    except ConfigError:
        if obj.config_path:
            raise
        return None  # no config here: the bundled story


def _claim_line(c: dict[str, Any]) -> str:
    if c["type"] == "figure":
        hi = "" if c["high"] is None else f"–{c['high']}" if c["high"] != c["low"] else ""
        src = f"  ({c['attribution']})" if c.get("attribution") else ""
        prev = f"  [previously {c['previous']}]" if c.get("previous") is not None else ""
        return (
            f"{c['metric']:<8} {c['qualifier']:<10} {c['low']}{hi} {c['group']} "
            f"[{c['group_key']}]{prev}{src}"
        )
    return f"quote    {c['speaker_key']:<18} {c['speaker']}: “{c['quote']}”"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the contract).")
@click.option("--since", metavar="ISO", help="Only findings found at or after this time.")
@click.option("--relation", metavar="R", multiple=True, help="Only this relation (repeatable).")
@click.option("--outlet", metavar="NAME", help="Only findings from this outlet.")
@click.pass_obj
@friendly
def findings(
    obj: Ctx, as_json: bool, since: str | None, relation: tuple[str, ...], outlet: str | None
) -> None:
    """The stored findings, oldest first."""
    mod = _need("monitor.findings", "findings")
    for line in mod.findings_lines(
        obj.config,
        obj.engine(),
        as_json=as_json,
        since=since,
        relations=list(relation),
        outlet=outlet,
    ):
        click.echo(line)


@cli.command()
@click.option(
    "--item", "baseline_key", metavar="KEY", help="One baseline item (e.g. killed:total)."
)
@click.option("--outlet", metavar="NAME", help="Only this outlet.")
@click.option("--article", "article_url", metavar="URL", help="One article's versions.")
@click.option("--relation", metavar="R", multiple=True, help="Only this relation (repeatable).")
@click.option("--since", metavar="ISO", help="From this date or time.")
@click.option("--until", metavar="ISO", help="Up to this date or time.")
@click.option(
    "--by",
    type=click.Choice(["item", "outlet"]),
    default="item",
    show_default=True,
    help="Group the timeline by baseline item or by outlet.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of the terminal view.")
@click.pass_obj
@friendly
def history(obj: Ctx, **options: Any) -> None:
    """Change history: per baseline item, per outlet, or one article's versions."""
    mod = _need("monitor.history", "history")
    click.echo(mod.render_history(obj.config, obj.engine(), **options))


@cli.command()
@click.option(
    "--preview",
    "preview_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the digest's HTML to FILE; sends and marks nothing.",
)
@click.option("--send", is_flag=True, help="Build the due digest and deliver it (SMTP or outbox).")
@click.pass_obj
@friendly
def digest(obj: Ctx, preview_path: str | None, send: bool) -> None:
    """Render the digest (--preview FILE) or render and deliver it (--send)."""
    if bool(preview_path) == send:
        raise click.UsageError("give exactly one of --preview FILE or --send")
    mod = _need("monitor.digest", "the digest")
    engine = obj.engine()
    if preview_path:
        click.echo(mod.preview(obj.config, engine, Path(preview_path)))
    else:
        click.echo(mod.send(obj.config, engine))


@cli.group()
def feeds() -> None:
    """The watched feeds and their health."""


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@friendly
def feeds_list(obj: Ctx, as_json: bool) -> None:
    """List the feeds with their health (last success, last error, items seen)."""
    from monitor.feeds import list_lines

    for line in list_lines(obj.config, as_json=as_json):
        click.echo(line)


@feeds.command("add")
@click.argument("url")
@click.option("--name", "-n", default="", help="A name the desk recognises.")
@click.pass_obj
@friendly
def feeds_add(obj: Ctx, url: str, name: str) -> None:
    """Add a feed to the config file (comments and layout kept)."""
    from monitor.feeds import add_feed

    click.echo(add_feed(obj.config, url, name))


@feeds.command("remove")
@click.argument("url")
@click.pass_obj
@friendly
def feeds_remove(obj: Ctx, url: str) -> None:
    """Remove a feed from the config file (its history stays in the database)."""
    from monitor.feeds import remove_feed

    click.echo(remove_feed(obj.config, url))


@cli.command()
@click.option("--force", is_flag=True, help="Replace an edited baseline (a backup is kept).")
@click.pass_obj
@friendly
def baseline(obj: Ctx, force: bool) -> None:
    """(Re)draft the baseline file from the seed; an edited one is never overwritten silently."""
    mod = _need("monitor.baseline", "the baseline")
    click.echo(mod.draft_command(obj.config, force=force))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@friendly
def status(obj: Ctx, as_json: bool) -> None:
    """Last poll, failing feeds, last digest, live workers."""
    from monitor.status import status_lines

    for line in status_lines(obj.config, obj.engine(), as_json=as_json):
        click.echo(line)


@cli.command()
@click.option(
    "--workdir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where the demo keeps its database and outbox (default: demo-output/).",
)
@click.pass_obj
@friendly
def demo(obj: Ctx, workdir: str | None) -> None:
    """The whole cycle offline: bundled coverage served from loopback, findings, digest."""
    mod = _need("monitor.demo", "the offline demo")
    sys.exit(mod.run_demo(Path(workdir or "demo-output")))


def main() -> None:
    cli(prog_name="monitor")
