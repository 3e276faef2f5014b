"""The command line: a thin adapter over ingest, detect, alerts and demo. Only this module prints.

Every failure a user can cause (a missing path, a bad option, a corrupt database) ends in one
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from mailhunt import __version__
from mailhunt.alerts.query import list_alerts
from mailhunt.demo import run_demo
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES, Parameter, ParameterValue
from mailhunt.detect.parameters import declared, parse_assignment
from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.errors import InputError, MailhuntError
from mailhunt.formats import FORMATS
from mailhunt.ingest import IngestSummary, discover, ingest
from mailhunt.investigate.evidence import original_bytes
from mailhunt.investigate.quarantine import quarantine_listing
from mailhunt.model.schema import markdown
from mailhunt.report import renderers
from mailhunt.report.renderers import Kind, Output, render, renderers_for
from mailhunt.report.safe import TerminalLogFormatter, terminal, terminal_text
from mailhunt.store.db import Store

EXIT_NOT_ALL_STORED = 1  # ingest, scan: some records or files were not stored (see the table)
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
PROGRESS_MIN_BYTES = 50 * 1024 * 1024

app = typer.Typer(
    name="mailhunt",
    help="Catch espionage in email: who read which mailbox, from audit and sign-in logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB database file.", dir_okay=False)]
PathsArgument = Annotated[
    list[Path], typer.Argument(help="Files or folders (read recursively).", show_default=False)
]

TABLE = "table"  # the --format of every command, for people; the others are for tools
PARAMETERS: dict[str, Parameter] = declared(ANALYTICS.values())


def _t(value: object) -> Text:
    """Data shown in the terminal: control characters escaped, never read as Rich markup."""
    return terminal(value)


def _show(output: Output) -> None:
    """A renderer's output: text for tools written exactly as is, a renderable printed."""
    if isinstance(output, str):
        sys.stdout.write(output)
    else:
        out.print(output)


def _choice(choices: Sequence[str]) -> Callable[[str], str]:
    """A parser accepting one of the choices (a usage error naming them otherwise)."""

    def parse(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _choice_option(flag: str, choices: Sequence[str], help_text: str) -> Any:
    return typer.Option(
        flag, parser=_choice(choices), metavar=f"<{'|'.join(choices)}>", help=help_text
    )


def _format_option(kind: Kind[Any]) -> Any:
    """``--format``: the names of the renderers registered for the kind."""
    found = renderers_for(kind)
    return _choice_option(
        "--format", list(found), "; ".join(f"{r.name}: {r.help}" for r in found.values()) + "."
    )


AlertsFormat = Annotated[str, _format_option(renderers.ALERTS)]
QuarantineFormat = Annotated[str, _format_option(renderers.QUARANTINE)]
AnalyticsFormat = Annotated[str, _format_option(renderers.ANALYTICS)]


# -- ingest / detect / scan -----------------------------------------------------------------------


def _run_ingest(store: Store, paths: list[Path]) -> IngestSummary:
    files = discover(paths)
    sizes = [f.stat().st_size for f in files]
    if sum(sizes) < PROGRESS_MIN_BYTES or not err.is_terminal:
        return ingest(store, files)
    columns = (
        TextColumn("{task.description}", markup=False),  # a file name is not markup
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("ingesting", total=sum(sizes))
        done: list[int] = []

        def starting(path: Path) -> None:
            progress.update(
                task, completed=sum(done), description=f"ingesting {terminal_text(path.name)[:40]}"
            )
            done.append(sizes[len(done)])

        return ingest(store, files, on_start=starting)


def _shown(path: Path) -> str:
    """A result's file as a person wants to see it: its name, and its archive for a member."""
    text = str(path)
    if "!" in text:
        archive, member = text.rsplit("!", 1)
        return f"{Path(archive).name}!{member}"
    return path.name


def _print_ingest(summary: IngestSummary) -> None:
    table = Table("file", "read as", "status", "records", "new", "quarantined", "note")
    for result in summary.files:
        table.add_row(
            _t(_shown(result.path)),
            _t(result.format or "-"),
            _t(result.status),
            str(result.records_read),
            str(result.records_new),
            str(result.quarantined),
            _t(result.detail),
        )
    out.print(table)
    out.print(
        f"{len(summary.files)} file(s): {summary.records_read} records read, "
        f"{summary.records_new} new, {summary.quarantined} quarantined"
    )
    for reason, count in summary.reasons.most_common():
        out.print(f"  quarantined {count}: {reason}")
    skipped = sum(1 for f in summary.files if f.status != "ingested")
    if skipped:
        out.print(f"  {skipped} file(s) skipped or failed (see note column)")


def _print_detect(summary: DetectSummary) -> None:
    for rule_id, found in summary.detections.items():
        out.print(f"{rule_id}: {found} detection(s), {summary.new_alerts[rule_id]} new alert(s)")


def _require_recognised(summary: IngestSummary) -> None:
    if all(f.status == "skipped" for f in summary.files):
        raise InputError("nothing recognisable to ingest in the given paths")


def _ingest_exit(summary: IngestSummary) -> None:
    """Exit 1 when some records or files were not stored (0 otherwise)."""
    if not summary.all_stored:
        raise typer.Exit(EXIT_NOT_ALL_STORED)


@app.command("ingest")
def ingest_command(paths: PathsArgument, db: DbOption = Path("mailhunt.duckdb")) -> None:
    """Read audit and sign-in logs into the store (idempotent: duplicates are dropped)."""
    discover(paths)  # a missing path fails here, before a database is created
    with Store.open(db) as store:
        summary = _run_ingest(store, paths)
    _print_ingest(summary)
    _require_recognised(summary)
    _ingest_exit(summary)


def _alias_help(name: str) -> str:
    parameter = PARAMETERS.get(name)
    return f"Same as --param {name}=N." + (f" {parameter.help}" if parameter else "")


def _overrides(
    ctx: typer.Context, assignments: list[str], aliases: dict[str, int | None]
) -> dict[str, ParameterValue]:
    """--param NAME=VALUE then the aliases (--baseline-days N), checked against what the
    analytics declare; a usage error naming the option otherwise."""
    overrides: dict[str, ParameterValue] = {}
    for text in assignments:
        try:
            name, value = parse_assignment(text, PARAMETERS)
        except InputError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param_hint="'--param'") from None
        overrides[name] = value
    for name, given in aliases.items():
        if given is None:
            continue
        flag = "--" + name.replace("_", "-")
        if name not in PARAMETERS:
            raise typer.BadParameter("no analytic takes it", ctx=ctx, param_hint=f"'{flag}'")
        try:
            overrides[name] = PARAMETERS[name].check(given)
        except ValueError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param_hint=f"'{flag}'") from None
    return overrides


@app.command("detect")
def detect_command(
    ctx: typer.Context,
    db: DbOption = Path("mailhunt.duckdb"),
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="NAME=VALUE",
            help="Set an analytic's parameter (repeatable): "
            + (", ".join(PARAMETERS) or "none")
            + ". Defaults: `mailhunt analytics`.",
            show_default=False,
        ),
    ] = None,
    baseline_days: Annotated[
        int | None, typer.Option(help=_alias_help("baseline_days"), show_default=False)
    ] = None,
    min_history_days: Annotated[
        int | None, typer.Option(help=_alias_help("min_history_days"), show_default=False)
    ] = None,
) -> None:
    """Run every analytic over the store and raise alerts."""
    aliases = {"baseline_days": baseline_days, "min_history_days": min_history_days}
    overrides = _overrides(ctx, param or [], aliases)
    with Store.open(db, create=False) as store:
        _print_detect(run_detections(store, overrides=overrides))


@app.command("scan")
def scan_command(paths: PathsArgument, db: DbOption = Path("mailhunt.duckdb")) -> None:
    """Ingest, then detect, then list the alerts."""
    discover(paths)
    with Store.open(db) as store:
        summary = _run_ingest(store, paths)
        _print_ingest(summary)
        _require_recognised(summary)
        _print_detect(run_detections(store))
        _show(render(renderers.ALERTS, TABLE, list_alerts(store)))
    _ingest_exit(summary)


# -- alerts / show --------------------------------------------------------------------------------


@app.command("alerts")
def alerts_command(
    db: DbOption = Path("mailhunt.duckdb"),
    output: AlertsFormat = TABLE,
    min_severity: Annotated[
        str,
        _choice_option("--min-severity", SEVERITIES, "Only alerts at or above this severity."),
    ] = SEVERITIES[0],
) -> None:
    """List alerts. `--format jsonl` is a stable contract: fields are added, never renamed."""
    with Store.open(db, create=False, read_only=True) as store:
        alerts = list_alerts(store, min_severity=min_severity)
    _show(render(renderers.ALERTS, output, alerts))


@app.command("quarantine")
def quarantine_command(
    db: DbOption = Path("mailhunt.duckdb"),
    reason: Annotated[
        str | None, typer.Option(help="Only this reason (e.g. invalid_json, bad_time).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many records.")] = 1000,
    output: QuarantineFormat = TABLE,
) -> None:
    """List the records ingest could not store: file, line, reason and their first bytes."""
    with Store.open(db, create=False, read_only=True) as store:
        listing = quarantine_listing(store, reason=reason, limit=limit)
    _show(render(renderers.QUARANTINE, output, listing))


@app.command("show")
def show_command(
    record_id: Annotated[str, typer.Argument(help="The source's record id (UAL Id, sign-in id).")],
    db: DbOption = Path("mailhunt.duckdb"),
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Skip checking the file's SHA-256.")
    ] = False,
) -> None:
    """Print a record's original bytes exactly as the source wrote them."""
    with Store.open(db, create=False, read_only=True) as store:
        evidence = original_bytes(store, record_id, verify=not no_verify)
    err.print(_t(f"{evidence.source_ref} ({evidence.source}, sha256 {evidence.sha256[:16]}...)"))
    sys.stdout.buffer.write(evidence.data)
    sys.stdout.buffer.flush()


@app.command("formats")
def formats_command() -> None:
    """List the input formats mailhunt recognises (sniffed from each file's content)."""
    table = Table("format", "stored in", "what it reads")
    for name, fmt in FORMATS.items():
        table.add_row(_t(name), _t(fmt.table), _t(fmt.description))
    out.print(table)


@app.command("analytics")
def analytics_command(output: AnalyticsFormat = TABLE) -> None:
    """List the analytics `detect` runs: severity, ATT&CK technique, parameters and defaults."""
    _show(render(renderers.ANALYTICS, output, list(ANALYTICS.values())))


@app.command("schema")
def schema_command() -> None:
    """Print the schema reference (Markdown), generated from its one declaration."""
    sys.stdout.write(markdown())


# -- demo -----------------------------------------------------------------------------------------


@app.command("demo")
def demo_command(
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Where to write (default: a new temp folder).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 7,
) -> None:
    """Build a demo tenant with an injected intrusion and run the whole pipeline on it."""
    target = folder or Path(tempfile.mkdtemp(prefix="mailhunt-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    result = run_demo(target, seed=seed)
    _print_ingest_brief(result.ingest)
    _print_detect(result.detect)
    _show(render(renderers.ALERTS, TABLE, result.alerts))
    for intrusion in result.tenant.intrusions:
        caught = result.caught_by.get(intrusion.kind) or []
        verdict = "caught by alert " + ", ".join(i[:12] for i in caught) if caught else "MISSED"
        out.print(
            _t(
                f"injected {intrusion.kind}: app {intrusion.app_id}, "
                f"{len(intrusion.mailboxes)} mailboxes, {len(intrusion.record_ids)} records: "
                f"{verdict}"
            )
        )
    out.print(_t(f"logs:      {result.folder / 'logs'}"))
    out.print(_t(f"database:  {result.database}"))
    out.print(_t(f"next:      mailhunt alerts --db {result.database} --format jsonl"))


def _print_ingest_brief(summary: IngestSummary) -> None:
    out.print(
        f"ingested {len(summary.files)} file(s): {summary.records_read} records, "
        f"{summary.records_new} new, {summary.quarantined} quarantined"
    )


def _print_version(value: bool) -> None:
    if value:
        out.print(f"mailhunt {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalLogFormatter(logging.BASIC_FORMAT))  # names from logs escaped
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; errors become one line on stderr and exit code 2."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="mailhunt")
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as error:  # usage errors: bad option, missing argument
        return _usage_error(error)
    except (typer.Abort, MailhuntError, duckdb.Error, OSError) as error:
        err.print(_t(f"mailhunt: {_one_line(error)}"))
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("mailhunt: interrupted (the file being read was not stored; run again to resume)")
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


def _one_line(error: Exception) -> str:
    """The first line of what went wrong, with no traceback."""
    if isinstance(error, typer.Abort):
        return "aborted"
    if isinstance(error, duckdb.Error):
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"database error: {first}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename or ''}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _usage_error(error: typer.TyperException) -> int:
    """One line for a usage error; the help text when no command was given at all."""
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
        sys.stdout.write(context.get_help() + "\n")  # our own text, not data
        return EXIT_ERROR
    message = getattr(error, "format_message", lambda: str(error))()
    path = context.command_path if context else ""
    command = f" {path.split(' ', 1)[-1]}" if " " in path else ""
    err.print(_t(f"mailhunt{command}: {message} (see --help)"))
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
