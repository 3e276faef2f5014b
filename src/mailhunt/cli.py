"""The command line: a thin adapter over ingest, detect, alerts and demo. Only this module prints.

Every failure a user can cause (a missing path, a bad option, a corrupt database) ends in one
line on stderr and a non-zero exit code, never a traceback. Exit codes: 0 done; 1 done in
part (an analytic failed, a record's evidence is unavailable); 2 a usage error or a database
that cannot be used; 130 / 143 stopped by SIGINT / SIGTERM (ingest and detect end after the
transaction in progress and say what was stored; a signal before a command stored anything,
while the command line is still imported included (`launch.py`, the entry point), is one line
too: "nothing stored"); 141 stdout closed by its reader.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from mailhunt import __version__
from mailhunt.alerts.query import count_suppressed, list_alerts
from mailhunt.alerts.suppressions import (
    add_suppression,
    list_suppressions,
    os_user,
    remove_suppression,
    request,
)
from mailhunt.detect.analytics import ANALYTICS
from mailhunt.detect.base import SEVERITIES, Parameter, ParameterValue
from mailhunt.detect.coverage import coverage_findings
from mailhunt.detect.parameters import (
    AnalyticsListing,
    DetectConfig,
    declared,
    find_config,
    load_config,
    parse_assignment,
)
from mailhunt.detect.runner import DetectSummary, run_detections
from mailhunt.enrich import enrich_ips
from mailhunt.errors import InputError, MailhuntError, StoreError
from mailhunt.export import EXPORTERS, SUBJECTS, run_export
from mailhunt.formats import FORMATS
from mailhunt.ingest import FileResult, IngestSummary, discover, ingest
from mailhunt.intel import read_indicator_file, store_indicators
from mailhunt.investigate.evidence import EvidenceUnavailableError, original_bytes
from mailhunt.investigate.incidents import (
    STATUSES,
    WINDOW_DAYS,
    blast_radius,
    build_incidents,
    get_incident,
    list_incidents,
    set_incident,
)
from mailhunt.investigate.quarantine import quarantine_listing
from mailhunt.investigate.timeline import (
    DEFAULT_GAP_MINUTES,
    TimelineView,
    moment,
    selector,
    timeline,
)
from mailhunt.model.schema import markdown
from mailhunt.notify import write_notices
from mailhunt.report import renderers
from mailhunt.report.html import write_report
from mailhunt.report.renderers import Kind, Output, render, renderers_for
from mailhunt.report.safe import TerminalLogFormatter, terminal, terminal_lines, terminal_text
from mailhunt.store.db import Store

if TYPE_CHECKING:  # pySigma loads only for the commands that take rules
    from mailhunt.sigma.compiler import Compiled

EXIT_PARTIAL = 1  # done in part: records or files not stored, an analytic failed
EXIT_ERROR = 2
EXIT_STDOUT_CLOSED = 128 + 13  # SIGPIPE's number, as a shell reports `... | head`
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PROGRESS_MIN_BYTES = 50 * 1024 * 1024

app = typer.Typer(
    name="mailhunt",
    help="Catch espionage in email: who read which mailbox, from audit and sign-in logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


ioc_app = typer.Typer(
    help="Indicators of compromise matched over everything stored (the ioc-match analytic).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ioc_app, name="ioc")


class _StdoutClosed(Exception):
    """stdout's reader went away (``mailhunt alerts | head``): nothing more to write."""


class _Stdout(Console):
    """The console for stdout: a closed stdout ends the command quietly (see main)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise _StdoutClosed


out = _Stdout(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# A DuckDB address rather than a file: `md:x`, `s3://...`, `sqlite:x.db`, `:memory:`.
_ADDRESS = re.compile(r"^(?::|[A-Za-z][A-Za-z0-9+.\-]*:)")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*$", re.IGNORECASE)


def _db_path(value: str | Path) -> Path:
    """--db: a file path, never a DuckDB address (it would reach a service, or keep nothing)."""
    text = str(value)
    drive = os.name == "nt" and _WINDOWS_DRIVE.match(text)
    if not text or (_ADDRESS.match(text) and not drive):
        raise typer.BadParameter(
            f"{text!r} is a DuckDB address, not a file path (md:, s3://, :memory: and the like "
            "are not accepted; for a file name with a colon, start it with ./)"
        )
    return Path(text)


def _memory_limit(value: str) -> str:
    """--memory-limit: a size with its unit, or a share of the memory (DuckDB's syntax)."""
    match = _MEMORY.match(value)
    if not match or float(match[1]) <= 0 or (match[2] == "%" and float(match[1]) > 100):
        raise typer.BadParameter(f"{value!r} is not a size such as 4GB, 512MB or 50%")
    return value.strip()


DbOption = Annotated[
    Path, typer.Option("--db", parser=_db_path, metavar="PATH", help="DuckDB database file.")
]
MemoryLimitOption = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        parser=_memory_limit,
        metavar="SIZE",
        help="Memory DuckDB may use: 4GB, 512MB, 50% (of RAM). Default: DuckDB's (80% of RAM).",
        show_default=False,
    ),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads", min=1, help="Threads DuckDB uses (default: one per core).", show_default=False
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="PATH",
        help="Analytic parameters file (default: ./mailhunt.toml when there is one); "
        "--param wins over it.",
        show_default=False,
    ),
]
PathsArgument = Annotated[
    list[Path], typer.Argument(help="Files or folders (read recursively).", show_default=False)
]

TABLE = "table"  # the --format of every command, for people; the others are for tools
PARAMETERS: dict[str, Parameter] = declared(ANALYTICS.values())


def _t(value: object) -> Text:
    """Data shown in the terminal: control characters escaped, never read as Rich markup."""
    return terminal(value)


@contextmanager
def _writing() -> Iterator[None]:
    """Writes to stdout, flushed; a closed stdout becomes _StdoutClosed (main ends quietly)."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise _StdoutClosed from None


def _print(*renderables: Any) -> None:
    """Print for people, on stdout."""
    with _writing():
        out.print(*renderables)


def _show(output: Output | bytes) -> None:
    """A renderer's output: text for tools (or a record's bytes) written exactly as is, a
    renderable printed."""
    with _writing():
        if isinstance(output, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(output)
            sys.stdout.buffer.flush()
        elif isinstance(output, str):
            sys.stdout.write(output)
        else:
            out.print(output)


class _Stop:
    """The first SIGINT or SIGTERM received while a run holds them; the run asks it between
    transactions and ends after the one in progress."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def exit_if_stopped(self, line: str) -> None:
        """When a signal came: the line (what was stored) on stderr, and exit 128 + signal."""
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            err.print(_t(f"mailhunt: interrupted by {name}: {line}"))
            raise typer.Exit(128 + self.signum)


@contextmanager
def _stoppable() -> Iterator[_Stop]:
    """SIGINT and SIGTERM, for the block, only ask the run to stop (no exception in the middle
    of a transaction); the previous handlers are back afterwards."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals are delivered to the main thread only
        return
    previous = {number: signal.signal(number, stop.handle) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def _open(
    db: Path,
    memory_limit: str | None,
    threads: int | None,
    *,
    create: bool = True,
    read_only: bool = False,
) -> Store:
    return Store.open(
        db, create=create, read_only=read_only, threads=threads, memory_limit=memory_limit
    )


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
IncidentsFormat = Annotated[str, _format_option(renderers.INCIDENTS)]
IncidentFormat = Annotated[str, _format_option(renderers.INCIDENT)]
BlastRadiusFormat = Annotated[str, _format_option(renderers.BLAST_RADIUS)]
QuarantineFormat = Annotated[str, _format_option(renderers.QUARANTINE)]
AnalyticsFormat = Annotated[str, _format_option(renderers.ANALYTICS)]
EvaluationFormat = Annotated[str, _format_option(renderers.EVALUATION)]
CoverageFormat = Annotated[str, _format_option(renderers.COVERAGE)]
SuppressionsFormat = Annotated[str, _format_option(renderers.SUPPRESSIONS)]
TimelineFormat = Annotated[str, _format_option(renderers.TIMELINE)]


def _config(given: Path | None) -> DetectConfig:
    """mailhunt.toml (or --config), checked against what the analytics declare; a bad file is
    one line and exit 2 (InputError)."""
    return load_config(find_config(given, Path.cwd()), ANALYTICS.values())


# -- ingest / detect / scan -----------------------------------------------------------------------


def _discover(paths: list[Path]) -> list[Path]:
    """The input files; a path that is neither a regular file nor a folder (a FIFO, a device)
    is named as such, a missing one as missing."""
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # discover says it is missing
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(f"not a regular file or folder: {path}")
    return discover(paths)


def _run_ingest(
    store: Store, paths: list[Path], stop: _Stop, stored: list[FileResult] | None = None
) -> IngestSummary:
    """Ingest with progress; `stored` gets each file stored as soon as it is (what to name
    when the store fails mid-run, see _storing)."""
    files = _discover(paths)
    sizes = [f.stat().st_size for f in files]

    def done_file(result: FileResult) -> None:
        if result.status == "ingested" and stored is not None:
            stored.append(result)

    if sum(sizes) < PROGRESS_MIN_BYTES or not err.is_terminal:
        # the run walks the paths again, noting the files it refuses
        return ingest(store, paths, on_file=done_file, should_stop=stop)
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

        return ingest(store, paths, on_file=done_file, on_start=starting, should_stop=stop)


DISK_FULL = "No space left on device"


@contextmanager
def _storing(stored: list[FileResult]) -> Iterator[None]:
    """A store that fails mid-ingest (a full disk) is reported with its cause and the files
    committed before it, in one line (StoreError), rather than DuckDB's last words."""
    try:
        yield
    except duckdb.Error as error:
        names = [_shown(f.path) for f in stored]
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        before = f"{len(names)} file(s) stored before it: {listed}" if names else "no file stored"
        raise StoreError(
            f"the store could not be written ({_store_cause(error)}); {before}; "
            "run ingest again once fixed (stored files are not read twice)"
        ) from None


def _store_cause(error: duckdb.Error) -> str:
    """What made DuckDB fail: a full disk named as such, else its original error (DuckDB
    gives it on a later line of an 'invalidated' error) or its first line."""
    text = str(error)
    if DISK_FULL.lower() in text.lower():
        return "no space left on device"
    original = re.search(r'Original error: "?([^\n"]+)', text)
    return original.group(1) if original else (text.splitlines() or [type(error).__name__])[0]


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
    _print(table)
    _print(
        f"{len(summary.files)} file(s): {summary.records_read} records read, "
        f"{summary.records_new} new, {summary.quarantined} quarantined"
    )
    for reason, count in summary.reasons.most_common():
        _print(f"  quarantined {count}: {reason}")
    duplicates = sum(1 for f in summary.files if f.status == "duplicate")
    if duplicates:
        _print(f"  {duplicates} file(s) already stored (same content), not read again")
    skipped = sum(1 for f in summary.files if f.status in ("skipped", "failed"))
    if skipped:
        _print(f"  {skipped} file(s) skipped or failed (see note column)")


def _print_detect(summary: DetectSummary) -> None:
    for rule_id, found in summary.detections.items():
        held = summary.suppressed.get(rule_id, 0)
        _print(
            f"{rule_id}: {found} detection(s), {summary.new_alerts[rule_id]} new alert(s)"
            + (f", {held} suppressed" if held else "")
        )
    for rule_id, message in summary.failed.items():
        err.print(_t(f"mailhunt: analytic {rule_id} failed (its alerts are unchanged): {message}"))


def _detect_failed(summary: DetectSummary) -> None:
    """Exit 1 when an analytic failed (the others ran and committed their alerts)."""
    if summary.failed:
        raise typer.Exit(EXIT_PARTIAL)


SigmaRulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        metavar="PATH",
        help="Sigma rules (a .yml file or a folder of them, read recursively): those that "
        "convert run after the analytics (`mailhunt rules check PATH` says why the others "
        "do not).",
        show_default=False,
    ),
]


def _sigma_rules(path: Path) -> list[Compiled]:
    """The rules under ``path`` converted; a line on stderr counting those that were not."""
    if not path.exists():
        raise InputError(f"no Sigma rules at {path}")
    from mailhunt.sigma.cache import compile_path  # (pySigma: 0.4 s, only for rules)
    from mailhunt.sigma.render import summary_line

    compiled = compile_path(path)  # through the cache of compiled rules (sigma/cache.py)
    err.print(_t(f"mailhunt: Sigma rules under {path}: {summary_line(compiled)}"))
    return compiled


SigmaPackOption = Annotated[
    bool,
    typer.Option(
        "--sigma-pack/--no-sigma-pack",
        help="Run mailhunt's own Sigma rule pack for mail compromise (its stable and test "
        "rules; `mailhunt rules list` shows them) after the analytics.",
    ),
]


def _sigma_pack(rules: list[Compiled]) -> list[Compiled]:
    """The pack's rules detect runs by default, less those ``rules`` (--rules) also holds."""
    from mailhunt.sigma.pack import default_rules, pack_rules  # (see _sigma_rules)

    given = {c.rule_id for c in rules if c.rule_id}
    return [c for c in default_rules(pack_rules()) if c.rule_id not in given]


def _merge(summary: DetectSummary, more: DetectSummary) -> None:
    """The Sigma rules' results added to the analytics' summary."""
    summary.detections.update(more.detections)
    summary.new_alerts.update(more.new_alerts)
    summary.suppressed.update(more.suppressed)
    summary.failed.update(more.failed)
    summary.not_run.extend(more.not_run)


def _require_recognised(summary: IngestSummary) -> None:
    if all(f.status == "skipped" for f in summary.files):
        raise InputError("nothing recognisable to ingest in the given paths")


def _ingest_exit(summary: IngestSummary) -> None:
    """Exit 1 when some records or files were not stored (0 otherwise)."""
    if not summary.all_stored:
        raise typer.Exit(EXIT_PARTIAL)


def _ingest_stopped(summary: IngestSummary) -> str:
    """What an interrupted ingest stored, in one line."""
    stored = [f for f in summary.files if f.status == "ingested"]
    done = (
        f"{len(stored)} file(s) stored ({summary.records_new} new records), the last "
        f"{_shown(stored[-1].path)}"
        if stored
        else "no file stored"
    )
    return f"ingest stopped after the transaction in progress; {done}; run it again to go on"


def _detect_stopped(summary: DetectSummary) -> str:
    """What an interrupted detect committed, in one line."""
    ran = len(summary.detections) + len(summary.failed)
    if not summary.not_run:
        return f"every analytic ({ran}) had run; their alerts are stored"
    return (
        f"detect stopped after {ran} of {ran + len(summary.not_run)} analytic(s), their alerts "
        f"stored; not run: {', '.join(summary.not_run)}; run detect again to finish"
    )


@app.command("ingest")
def ingest_command(
    paths: PathsArgument,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Read audit and sign-in logs into the store (idempotent: duplicates are dropped)."""
    _discover(paths)  # a missing path fails here, before a database is created
    stored: list[FileResult] = []
    with _stoppable() as stop:  # to the last line: a signal while it prints is reported too
        with _storing(stored), _open(db, memory_limit, threads) as store:
            summary = _run_ingest(store, paths, stop, stored)
        _print_ingest(summary)
        stop.exit_if_stopped(_ingest_stopped(summary))
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
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
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
    config: ConfigOption = None,
    geoip: Annotated[
        list[Path] | None,
        typer.Option(
            "--geoip",
            metavar="PATH",
            help="A MaxMind-format .mmdb database (GeoLite2 or DB-IP Lite country, city or ASN; "
            "repeatable) to enrich client IPs with before the analytics run. Read locally, "
            "never online; without one, networks are compared by /24 and /48 prefix.",
            show_default=False,
        ),
    ] = None,
    rules: SigmaRulesOption = None,
    sigma_pack: SigmaPackOption = True,
    only_rules: Annotated[
        bool,
        typer.Option(
            "--only-rules",
            help="Run only the Sigma rules of --rules: not the built-in analytics, not the "
            "rule pack.",
        ),
    ] = False,
) -> None:
    """Run every analytic over the store and raise alerts (parameters: defaults, then
    mailhunt.toml, then --param). Detections a suppression matches are stored and counted,
    not raised as new alerts. Then mailhunt's Sigma rule pack (unless --no-sigma-pack) and
    the Sigma rules of --rules, run last on the store locked down."""
    if only_rules and rules is None:
        raise InputError("--only-rules needs --rules PATH")
    aliases = {"baseline_days": baseline_days, "min_history_days": min_history_days}
    overrides = _overrides(ctx, param or [], aliases)
    settings = _config(config)
    configured = settings.analytics
    databases = list(geoip or settings.geoip)  # --geoip replaces the file's [detect] geoip
    sigma = _sigma_rules(rules) if rules is not None else []
    sigma = (_sigma_pack(sigma) if sigma_pack and not only_rules else []) + sigma
    with _stoppable() as stop, _open(db, memory_limit, threads, create=False) as store:
        if databases:
            enriched = enrich_ips(store, databases)
            _print(
                f"IP enrichment ({', '.join(enriched.databases)}): {enriched.enriched} of "
                f"{enriched.looked_up} new address(es) known"
            )
        summary = (
            DetectSummary()
            if only_rules
            else run_detections(store, overrides=overrides, configured=configured, should_stop=stop)
        )
        if sigma and not stop():
            from mailhunt.sigma.analytic import run_sigma  # (see _sigma_rules)

            _merge(summary, run_sigma(store, sigma, should_stop=stop))
        _print_detect(summary)
        stop.exit_if_stopped(_detect_stopped(summary))
        built = _build_incidents(store)
    _detect_failed(summary)
    if not built:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("scan")
def scan_command(
    paths: PathsArgument,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    config: ConfigOption = None,
) -> None:
    """Ingest, then detect, then list the alerts."""
    configured = _config(config).analytics
    _discover(paths)
    stored: list[FileResult] = []
    with _stoppable() as stop:
        with _open(db, memory_limit, threads) as store:
            with _storing(stored):
                summary = _run_ingest(store, paths, stop, stored)
            _print_ingest(summary)
            stop.exit_if_stopped(_ingest_stopped(summary))
            _require_recognised(summary)
            detected = run_detections(store, configured=configured, should_stop=stop)
            _print_detect(detected)
            stop.exit_if_stopped(_detect_stopped(detected))
            _build_incidents(store)
            alerts = list_alerts(store)
            hidden = count_suppressed(store)
        _show(render(renderers.ALERTS, TABLE, alerts))
        _print_hidden(hidden)
        stop.exit_if_stopped("every analytic had run; their alerts are stored")
    _detect_failed(detected)
    _ingest_exit(summary)


def _build_incidents(store: Store) -> bool:
    """Group the alerts into incidents after detection; a failure is one line (the alerts are
    committed already and stay): False then."""
    try:
        built = build_incidents(store)
    except duckdb.Error as error:
        err.print(terminal(f"incidents not built (the alerts are stored): {_store_cause(error)}"))
        return False
    _print(f"{built.incidents} incident(s): {built.new} new, {built.merged} merged")
    return True


# -- incidents ------------------------------------------------------------------------------------

incident_app = typer.Typer(
    help="One incident: show it, or set its status, assignee or a note.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(incident_app, name="incident")

IncidentId = Annotated[str, typer.Argument(metavar="ID", help="Incident id (INC-...).")]


def _incidents_current(store: Store) -> None:
    """Rebuild the incidents when the alerts changed since the last build."""
    build_incidents(store, force=False)


@app.command("incidents")
def incidents_command(
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    output: IncidentsFormat = TABLE,
    status: Annotated[
        str | None, _choice_option("--status", STATUSES, "Only incidents of this status.")
    ] = None,
) -> None:
    """List incidents: alerts linked by session, token, application, address or campaign
    within {WINDOW_DAYS} days (rebuilt first when the alerts changed). `--format jsonl` is a
    stable contract: fields are added, never renamed."""
    with _open(db, memory_limit, threads, create=False) as store:
        _incidents_current(store)
        found = list_incidents(store, status=status)
    _show(render(renderers.INCIDENTS, output, found))


incidents_command.__doc__ = (incidents_command.__doc__ or "").replace(
    "{WINDOW_DAYS}", str(WINDOW_DAYS)
)


@incident_app.command("show")
def incident_show_command(
    incident_id: IncidentId,
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    output: IncidentFormat = TABLE,
) -> None:
    """One incident: what it holds, its blind windows and its journal."""
    with _open(db, memory_limit, threads, create=False) as store:
        _incidents_current(store)
        found = get_incident(store, incident_id)
    _show(render(renderers.INCIDENT, output, found))


@incident_app.command("set")
def incident_set_command(
    incident_id: IncidentId,
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    status: Annotated[
        str | None, _choice_option("--status", STATUSES, "The incident's new status.")
    ] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Who works on it ('' for nobody).", show_default=False)
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="A note for its journal.", show_default=False)
    ] = None,
    author: Annotated[
        str | None,
        typer.Option(help="Who writes (default: the operating-system user).", show_default=False),
    ] = None,
) -> None:
    """Set an incident's status or assignee, or add a note; every change is journalled with
    its time and author, and kept across rebuilds."""
    with _open(db, None, None, create=False) as store:
        changed = set_incident(
            store, incident_id, status=status, assignee=assignee, note=note, author=author
        )
    _print(terminal(f"{changed.id}: {changed.status}, assignee {changed.assignee or 'nobody'}"))


@app.command("blast-radius")
def blast_radius_command(
    incident_id: IncidentId,
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    output: BlastRadiusFormat = TABLE,
) -> None:
    """What an incident's intruder touched: per mailbox, every message read, folders synced
    whole (with how many messages they are known to hold), blind windows, mail sent and rule,
    forwarding and permission changes, and every record attributed."""
    with _open(db, memory_limit, threads, create=False) as store:
        _incidents_current(store)
        radius = blast_radius(store, incident_id)
    _show(render(renderers.BLAST_RADIUS, output, radius))


# -- alerts / show --------------------------------------------------------------------------------


@app.command("alerts")
def alerts_command(
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    output: AlertsFormat = TABLE,
    min_severity: Annotated[
        str,
        _choice_option("--min-severity", SEVERITIES, "Only alerts at or above this severity."),
    ] = SEVERITIES[0],
    include_suppressed: Annotated[
        bool,
        typer.Option(
            "--include-suppressed", help="Also list the alerts a suppression holds (marked)."
        ),
    ] = False,
) -> None:
    """List alerts, suppressed ones aside (the table counts them). `--format jsonl` is a
    stable contract: fields are added, never renamed."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        alerts = list_alerts(
            store, min_severity=min_severity, include_suppressed=include_suppressed
        )
        hidden = 0 if include_suppressed else count_suppressed(store, min_severity=min_severity)
    _show(render(renderers.ALERTS, output, alerts))
    if output == TABLE:
        _print_hidden(hidden)


def _print_hidden(hidden: int) -> None:
    """Under an alert table: how many alerts suppressions hold, not listed."""
    if hidden:
        _print(f"{hidden} suppressed alert(s) not listed (--include-suppressed lists them)")


@app.command("quarantine")
def quarantine_command(
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    reason: Annotated[
        str | None, typer.Option(help="Only this reason (e.g. invalid_json, bad_time).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many records.")] = 1000,
    output: QuarantineFormat = TABLE,
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """List the records ingest could not store: file, line, reason and their first bytes."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        listing = quarantine_listing(store, reason=reason, limit=limit)
    _show(render(renderers.QUARANTINE, output, listing))


@app.command("show")
def show_command(
    record_id: Annotated[str, typer.Argument(help="The source's record id (UAL Id, sign-in id).")],
    db: DbOption = Path("mailhunt.duckdb"),
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Skip checking the file's SHA-256 (the bytes must still hold the record's id).",
        ),
    ] = False,
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Print a record's original bytes exactly as the source wrote them (exit 1 when they are
    no longer available: the file moved, changed or is not a regular file). To a terminal,
    control and bidi characters are shown escaped (\x1b, \u202e); piped, the bytes are exact."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        try:
            evidence = original_bytes(store, record_id, verify=not no_verify)
        except EvidenceUnavailableError as error:
            err.print(_t(f"mailhunt show: {_one_line(error)}"))
            raise typer.Exit(EXIT_PARTIAL) from None
    err.print(_t(f"{evidence.source_ref} ({evidence.source}, sha256 {evidence.sha256[:16]}...)"))
    if _stdout_is_terminal():  # a log's bytes must not drive the terminal (titles, OSC 52...)
        _show(terminal_lines(evidence.data.decode("utf-8", errors="backslashreplace")))
    else:
        _show(evidence.data)


def _selector_option(flag: str, metavar: str, what: str) -> Any:
    return typer.Option(flag, metavar=metavar, help=what, show_default=False)


def _time_option(flag: str, what: str) -> Any:
    return typer.Option(
        flag,
        metavar="ISO",
        help=f"{what}: an ISO 8601 date (00:00 UTC) or time (UTC unless it says otherwise).",
        show_default=False,
    )


@app.command("timeline")
def timeline_command(
    *,
    mailbox: Annotated[
        str | None, _selector_option("--mailbox", "UPN", "Records acting on this mailbox.")
    ] = None,
    user: Annotated[
        str | None, _selector_option("--user", "UPN", "Records whose actor is this user.")
    ] = None,
    ip: Annotated[
        str | None,
        _selector_option("--ip", "IP|CIDR", "Records from this address or network."),
    ] = None,
    app_id: Annotated[
        str | None, _selector_option("--app", "ID", "Records of this application id.")
    ] = None,
    since: Annotated[str | None, _time_option("--since", "From (included)")] = None,
    until: Annotated[str | None, _time_option("--until", "Until (excluded)")] = None,
    output: TimelineFormat = TABLE,
    sessions: Annotated[
        bool, typer.Option("--sessions", help="One line per session rather than per record.")
    ] = False,
    gap: Annotated[
        int,
        typer.Option(
            "--session-gap",
            min=1,
            metavar="MINUTES",
            help="A pause that ends a session without a session id.",
        ),
    ] = DEFAULT_GAP_MINUTES,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """The timeline of a mailbox, a user, an address or network, or an application (exactly
    one): sign-ins, mail access, sent mail, inbox rules and admin operations in time order,
    with sessions reconstructed and, per record, the address, application, client, country and
    ASN its mailbox or user shows for the first time in the store. `--format jsonl` is a stable
    contract: fields are added, never renamed."""
    chosen = selector(mailbox=mailbox, user=user, ip=ip, app=app_id)
    start = moment(since, "--since") if since is not None else None
    end = moment(until, "--until") if until is not None else None
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        found = timeline(store, chosen, start, end, gap_minutes=gap)
    _show(render(renderers.TIMELINE, output, TimelineView(found, sessions=sessions)))


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


@app.command("formats")
def formats_command() -> None:
    """List the input formats mailhunt recognises (sniffed from each file's content)."""
    table = Table("format", "stored in", "what it reads")
    for name, fmt in FORMATS.items():
        table.add_row(_t(name), _t(fmt.table), _t(fmt.description))
    _print(table)


def _list_analytics(output: str, config: Path | None) -> None:
    listing = AnalyticsListing(list(ANALYTICS.values()), _config(config))
    _show(render(renderers.ANALYTICS, output, listing))


@app.command("analytics")
def analytics_command(output: AnalyticsFormat = TABLE, config: ConfigOption = None) -> None:
    """List the analytics `detect` runs: severity and how it is chosen, ATT&CK techniques,
    parameters with their defaults and the values in effect from mailhunt.toml (the same as
    `mailhunt rules list`)."""
    _list_analytics(output, config)


rules_app = typer.Typer(
    name="rules",
    help="The detection rules `detect` runs: analytics, Sigma rules (check, test, list --rules).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rules_app)


@rules_app.command("list")
def rules_list_command(
    output: AnalyticsFormat = TABLE, config: ConfigOption = None, rules: SigmaRulesOption = None
) -> None:
    """List the analytics: severity and how it is chosen, ATT&CK techniques, parameters with
    their defaults and the values in effect from mailhunt.toml (same as `mailhunt analytics`);
    then mailhunt's Sigma rule pack (its experimental rules run only with --rules and the
    pack's folder, shown in the path column) and, with --rules, the Sigma rules there, with
    their status (as `rules check`)."""
    compiled = _sigma_rules(rules) if rules is not None else []
    from mailhunt.sigma.pack import pack_rules  # (see _sigma_rules)
    from mailhunt.sigma.render import check_jsonl, check_table

    compiled = pack_rules() + compiled
    _list_analytics(output, config)
    _show(check_jsonl(compiled) if output == "jsonl" else check_table(compiled))


CheckFormat = Annotated[
    str,
    _choice_option(
        "--format",
        [TABLE, "jsonl"],
        "table: for people; jsonl: one object per rule (path, rule_id, title, status, reason).",
    ),
]


@rules_app.command("check")
def rules_check_command(
    path: Annotated[
        Path, typer.Argument(help="A Sigma rule file or a folder of them.", show_default=False)
    ],
    output: CheckFormat = TABLE,
) -> None:
    """Convert each Sigma rule and say whether it runs here: converted, unsupported (and
    why: a log source or field the store does not keep, a modifier) or error. Exit 1 when a
    rule has an error."""
    if not path.exists():
        raise InputError(f"no Sigma rules at {path}")
    from mailhunt.sigma.compiler import ERROR, compile_rules  # (see _sigma_rules)
    from mailhunt.sigma.loader import load_rules
    from mailhunt.sigma.render import check_jsonl, check_table

    compiled = compile_rules(load_rules(path))
    _show(check_jsonl(compiled) if output == "jsonl" else check_table(compiled))
    if any(c.status == ERROR for c in compiled):
        raise typer.Exit(EXIT_PARTIAL)


@rules_app.command("test")
def rules_test_command(
    path: Annotated[
        Path, typer.Argument(help="A Sigma rule file or a folder of them.", show_default=False)
    ],
    output: CheckFormat = TABLE,
) -> None:
    """Run each Sigma rule against its own sample events (the rule's `mailhunt-samples`:
    positive events it must match, negative ones it must not; docs/sigma.md) and say passed,
    failed, unsupported or error. Exit 1 when a rule failed or has an error."""
    if not path.exists():
        raise InputError(f"no Sigma rules at {path}")
    from mailhunt.sigma.compiler import ERROR
    from mailhunt.sigma.loader import load_rules  # (see _sigma_rules)
    from mailhunt.sigma.ruletest import FAILED, run_rule_tests, tests_jsonl, tests_table

    results = run_rule_tests(load_rules(path))
    _show(tests_jsonl(results) if output == "jsonl" else tests_table(results))
    if any(r.status in (FAILED, ERROR) for r in results):
        raise typer.Exit(EXIT_PARTIAL)


# -- suppress -------------------------------------------------------------------------------------

suppress_app = typer.Typer(
    name="suppress",
    help="Suppressions: detections matching one are stored and counted, not listed as alerts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(suppress_app)


def _match_option(flag: str, what: str, metavar: str = "ID") -> Any:
    return typer.Option(flag, metavar=metavar, help=f"Only alerts {what}.", show_default=False)


@suppress_app.command("add")
def suppress_add_command(
    *,
    reason: Annotated[
        str,
        typer.Option("--reason", metavar="TEXT", help="Why (required; kept with the suppression)."),
    ],
    rule: Annotated[str | None, _match_option("--rule", "of this rule (analytic id)")] = None,
    tenant: Annotated[str | None, _match_option("--tenant", "involving this tenant id")] = None,
    app_id: Annotated[str | None, _match_option("--app", "involving this application id")] = None,
    mailbox: Annotated[
        str | None, _match_option("--mailbox", "involving this mailbox", "UPN")
    ] = None,
    user: Annotated[str | None, _match_option("--user", "involving this user", "UPN")] = None,
    ip: Annotated[
        str | None,
        _match_option("--ip", "with a client IP in this network (an address or a CIDR)", "IP|CIDR"),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="WHEN",
            help="When it stops applying to new detections: 12h, 30d, 2w, a date (2025-06-30: "
            "at 00:00 UTC) or an ISO 8601 time. Default: never.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Add a suppression: every field given must match (rule equal, tenant, app, mailbox and
    user among the alert's, a client IP inside the network). Stored alerts it matches are
    suppressed too."""
    given = request(
        reason=reason,
        rule_id=rule,
        tenant_id=tenant,
        app_id=app_id,
        mailbox=mailbox,
        user_upn=user,
        ip=ip,
        expires=expires,
        known_rules=tuple(ANALYTICS),
    )
    with _open(db, memory_limit, threads, create=False) as store:
        number, held = add_suppression(store, given, created_by=os_user())
    _print(_t(f"suppression {number} added; {held} stored alert(s) now suppressed by it"))


@suppress_app.command("list")
def suppress_list_command(
    output: SuppressionsFormat = TABLE,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """List the suppressions: what each matches, why, by whom, until when, alerts it holds."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        found = list_suppressions(store)
    _show(render(renderers.SUPPRESSIONS, output, found))


@suppress_app.command("remove")
def suppress_remove_command(
    number: Annotated[int, typer.Argument(metavar="ID", help="The suppression's id.")],
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Remove a suppression; the alerts it held are matched against the others again."""
    with _open(db, memory_limit, threads, create=False) as store:
        held, listed = remove_suppression(store, number)
    _print(f"suppression {number} removed; it held {held} alert(s), {listed} now listed again")


@app.command("schema")
def schema_command() -> None:
    """Print the schema reference (Markdown), generated from its one declaration."""
    _show(markdown())


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
    from mailhunt.demo import run_demo  # (the test bed: only demo needs it)

    result = run_demo(target, seed=seed)
    _print_ingest_brief(result.ingest)
    _print_detect(result.detect)
    _show(render(renderers.ALERTS, TABLE, result.alerts))
    for intrusion in result.tenant.intrusions:
        caught = result.caught_by.get(intrusion.kind) or []
        verdict = "caught by alert " + ", ".join(i[:12] for i in caught) if caught else "MISSED"
        _print(
            _t(
                f"injected {intrusion.kind}: app {intrusion.app_id}, "
                f"{len(intrusion.mailboxes)} mailboxes, {len(intrusion.record_ids)} records: "
                f"{verdict}"
            )
        )
    _print(_t(f"logs:      {result.folder / 'logs'}"))
    _print(_t(f"database:  {result.database}"))
    _print(_t(f"next:      mailhunt alerts --db {result.database} --format jsonl"))


@ioc_app.command("import")
def ioc_import_command(
    files: Annotated[
        list[Path], typer.Argument(help="STIX 2.1 bundles (.json) or CSV (type,value,...).")
    ],
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Store indicator lists (each replaces the list of the same file name); `detect` then
    matches them over everything stored."""
    lists = [read_indicator_file(path) for path in files]
    with _open(db, memory_limit, threads, create=True, read_only=False) as store:
        stored = store_indicators(store, lists)
    for listing in lists:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(listing.skipped.items()))
        _print(
            _t(
                f"{listing.source}: {len(listing.indicators)} indicator(s)"
                + (f"; skipped {skipped}" if skipped else "")
            )
        )
    _print(_t(f"stored {stored} indicator(s); run 'mailhunt detect' to match them"))


@ioc_app.command("list")
def ioc_list_command(
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Indicator lists stored: source, kinds and counts (the shipped Storm-0558 list appears
    after the first `detect`)."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        rows = store.query(
            "SELECT source, kind, count(*) FROM indicators GROUP BY ALL ORDER BY source, kind"
        )
    table = Table("source", "kind", "indicators")
    for source, kind, count in rows:
        table.add_row(_t(source), _t(kind), _t(count))
    _show(table)


@app.command("coverage")
def coverage_command(
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
    output: CoverageFormat = TABLE,
) -> None:
    """Where detection is blind: tenants without sign-in logs, days without mail-access audit,
    mailboxes whose reads are never audited (the telemetry-gap findings)."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        findings = coverage_findings(store)
    _show(render(renderers.COVERAGE, output, findings))


@app.command("report")
def report_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="The HTML file to write (replaced atomically).", dir_okay=False),
    ],
    incident: Annotated[
        str | None, typer.Option("--incident", help="Only this incident (its id).")
    ] = None,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Write the investigation as one self-contained HTML file: summary, incidents, what each
    read (mailboxes, messages, folders, blind windows), charts, timelines, coverage (incidents
    rebuilt first when the alerts changed). It runs no script and fetches nothing; open it from
    disk."""
    with _open(db, memory_limit, threads, create=False) as store:
        _incidents_current(store)
        report = write_report(store, out, incident_id=incident)
    _print(
        _t(
            f"wrote {out}: {len(report.cases)} incident(s), {len(report.alerts)} "
            f"alert(s), {report.messages} message(s) read in {report.mailboxes} mailbox(es)"
        )
    )


@app.command("evaluate")
def evaluate_command(
    seed: Annotated[int, typer.Option(help="Test-bed seed: one seed names one test bed.")] = 1,
    tenants: Annotated[
        int, typer.Option(min=1, max=50, help="Tenants with sign-in logs (one more has none).")
    ] = 4,
    days: Annotated[int, typer.Option(min=7, max=120, help="Days simulated per tenant.")] = 21,
    users: Annotated[int, typer.Option(min=7, max=500, help="Mailboxes per tenant.")] = 20,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Where to write (default: a new temp folder).")
    ] = None,
    output: EvaluationFormat = TABLE,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when an acceptance line does not hold.")
    ] = False,
) -> None:
    """Generate the test bed (every attack kind, every false-positive source), run the whole
    pipeline on it and score: per attack kind, detected or not, by which analytics, evidence
    recall; false alerts per 1000 mailbox-days by severity and by analytic."""
    target = folder or Path(tempfile.mkdtemp(prefix="mailhunt-evaluate-"))
    target.mkdir(parents=True, exist_ok=True)
    from mailhunt.evaluate import evaluate  # (the test bed: see demo)

    result = evaluate(target, seed=seed, tenants=tenants, days=days, users=users)
    _show(render(renderers.EVALUATION, output, result))
    if check and result.failures:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    *,
    output: Annotated[
        str,
        _choice_option(
            "--format",
            list(EXPORTERS),
            "; ".join(f"{e.name}: {e.help}" for e in EXPORTERS.values()) + ".",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="PATH",
            help="File to write (replaced atomically); a directory when a format writes "
            "several files.",
            show_default=False,
        ),
    ],
    what: Annotated[
        str,
        _choice_option(
            "--what",
            list(SUBJECTS),
            "; ".join(f"{s.name}: {s.help}" for s in SUBJECTS.values()) + ".",
        ),
    ] = "alerts",
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Export findings for other tools: JSON Lines, CSV (formula cells neutralised), OCSF
    Detection Findings (validated), a STIX 2.1 bundle of the attacker's indicators. A path that
    cannot be written is one line and exit 2; nothing is left half-written."""
    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        result = run_export(store, output, what, out)
    paths = ", ".join(str(p) for p in result.paths)
    _print(_t(f"exported {result.items} {result.subject} as {result.format}: {paths}"))


@app.command("notify")
def notify_command(
    *,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory to write one folder per affected tenant into (created if missing; "
            "one holding anything needs --force).",
            show_default=False,
        ),
    ],
    incident: Annotated[
        str | None,
        typer.Option(
            "--incident", metavar="ID", help="Only this incident's tenant(s).", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a directory that is not empty (only the notice files are "
            "replaced; nothing else is touched).",
        ),
    ] = False,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Write a notice for each affected organisation: one folder per tenant with an incident
    not marked false-positive, holding notice.md and notice.html (what was accessed, and the
    exact commands to contain it; no links), evidence.csv, messages.csv and
    indicators.stix.json. A tenant's folder never names another tenant's mailboxes or data."""
    with _open(db, memory_limit, threads, create=False) as store:
        _incidents_current(store)
        written = write_notices(store, out, incident_id=incident, force=force)
    _show(  # one unwrapped line per tenant (ids and paths escaped)
        "".join(
            terminal_text(
                f"{result.tenant_id}: {result.folder} ({result.incidents} incident(s), "
                f"{result.mailboxes} mailbox(es), {result.messages} message(s) read)"
            )
            + "\n"
            for result in written
        )
    )
    if not written:
        _print("no affected tenant: no notice written")


@app.command("serve")
def serve_command(
    *,
    db: DbOption = Path("mailhunt.duckdb"),
    host: Annotated[
        str, typer.Option(help="Address to listen on (another than loopback exposes the store).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            help="Access token (default: a random one, printed).",
            envvar="MAILHUNT_WEB_TOKEN",
            show_default=False,
        ),
    ] = None,
    author: Annotated[
        str, typer.Option(help="Who the journal says made the changes done in the browser.")
    ] = "web",
) -> None:
    """Serve the investigation in a browser: overview, alerts, incidents, timelines, rules,
    ingest; each page with a JSON twin under /api (OpenAPI at /api/openapi.json). Token
    required; writes (incident status, notes, suppressions) are journalled with --author."""
    try:  # the web stack loads only for this command, and is an extra
        import uvicorn

        from mailhunt.web import Settings, create_app, new_token
        from mailhunt.web.access import StoreAccess
    except ImportError as error:
        raise InputError(
            f"mailhunt serve needs the web extra (pip install 'mailhunt[web]'): {error}"
        ) from None

    settings = Settings(db=db, token=token or new_token(), host=host, port=port, author=author)
    access = StoreAccess(db)
    access.prepare()  # the store is usable and its incidents current, before listening
    shown = f"[{host}]" if ":" in host else host
    _print(_t(f"mailhunt serving {db} at http://{shown}:{port}/?token={settings.token}"))
    uvicorn.run(create_app(settings, access), host=host, port=port, log_level="warning")


def _print_ingest_brief(summary: IngestSummary) -> None:
    _print(
        f"ingested {len(summary.files)} file(s): {summary.records_read} records, "
        f"{summary.records_new} new, {summary.quarantined} quarantined"
    )


def _print_version(value: bool) -> None:
    if value:
        _print(f"mailhunt {__version__}")
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


class _Interrupted(BaseException):
    """SIGINT or SIGTERM outside a run that holds them (`_stoppable`): raised by the handler
    `main` installs, rather than KeyboardInterrupt, which Typer turns into a silent exit 130."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Interrupter:
    """`main`'s handler of SIGINT and SIGTERM: note the signal and raise _Interrupted."""

    def __init__(self) -> None:
        self.signum = signal.SIGINT.value

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.signum = signum
        raise _Interrupted(signum)


@contextmanager
def _interruptible(interrupter: _Interrupter) -> Iterator[None]:
    """SIGINT and SIGTERM raise _Interrupted for the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, interrupter) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def interrupted(signum: int) -> int:
    """A signal came before a command stored anything (or after one that stores nothing):
    one line, exit 128 + signal. Also for the entry point (`launch.py`), interrupted while it
    imported this module."""
    name = signal.Signals(signum).name
    err.print(f"mailhunt: interrupted by {name}; nothing stored")
    return 128 + signum


# -- live collection ------------------------------------------------------------------------------


CollectConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="PATH",
        help="Tenants to collect from, [collect] of mailhunt.toml (default: ./mailhunt.toml when "
        "there is one, else the MAILHUNT_* environment variables); see docs/collect.md.",
        show_default=False,
    ),
]


@app.command("collect")
def collect_command(
    config: CollectConfigOption = None,
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """One collection pass (for cron): every configured tenant's Management Activity API
    content types and Graph sign-in and directory-audit logs, from where the last pass stopped
    to now; raw content landed gzip-compressed (the evidence files), then ingested. Exit 1 when
    a feed failed (its error is kept for `mailhunt status`). App registration permissions:
    Office 365 Management APIs ActivityFeed.Read; Microsoft Graph AuditLog.Read.All and
    Directory.Read.All (application permissions, admin consent)."""
    from mailhunt.collect import collect, load  # msal and httpx load slowly: imported here

    settings = load(find_config(config, Path.cwd()))
    with _open(db, memory_limit, threads) as store:
        report = collect(settings, store)
    for feed in report.feeds:
        state = f"error: {feed.error}" if feed.error else "ok"
        err.print(
            _t(
                f"{feed.tenant} {feed.feed}: {feed.contents} new content, {feed.records_new} "
                f"new records, {feed.gaps} gap(s), {state}"
            )
        )
    if report.throttled:
        err.print(_t(f"throttled {report.throttled} time(s), waited {report.waited:.0f} s"))
    if report.errors:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("status")
def status_command(
    db: DbOption = Path("mailhunt.duckdb"),
    memory_limit: MemoryLimitOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Live collection per tenant and feed: collected up to, the last content's time, the lag
    behind now, content and records stored, gaps (time lost past retention) and the last
    error."""
    from mailhunt.store.checkpoints import Checkpoints
    from mailhunt.store.db import utc_now

    with _open(db, memory_limit, threads, create=False, read_only=True) as store:
        feeds = Checkpoints(store).status()
    now = utc_now()
    table = Table("tenant", "feed", "collected up to", "last content", "lag", "content",
                  "records", "gaps", "last error")  # fmt: skip
    for f in feeds:
        lag = f"{(now - f.window_end).total_seconds() / 3600:.1f} h" if f.window_end else "-"
        upto = f"{f.window_end:%Y-%m-%d %H:%M}" if f.window_end else "-"
        table.add_row(
            _t(f.tenant_id), _t(f.feed), _t(upto),
            _t(f"{f.last_content:%Y-%m-%d %H:%M}" if f.last_content else "-"), _t(lag),
            _t(str(f.contents)), _t(str(f.records)),
            _t(f"{f.gaps} ({f.gap_hours:.1f} h)" if f.gaps else "0"), _t(f.last_error or ""),
        )  # fmt: skip
    _print(table if feeds else _t("nothing collected yet (run 'mailhunt collect')"))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; errors become one line on stderr and exit code 2."""
    interrupter = _Interrupter()
    try:
        with _interruptible(interrupter):
            result = app(args=argv, standalone_mode=False, prog_name="mailhunt")
            with _writing():
                pass  # what is still buffered for stdout, written now
    except _StdoutClosed:
        return _stdout_closed()
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as error:  # usage errors: bad option, missing argument
        return _usage_error(error)
    except (_Interrupted, KeyboardInterrupt, duckdb.InterruptException, RuntimeError) as error:
        # DuckDB's Python client raises RuntimeError('Query interrupted') for a Ctrl-C
        if isinstance(error, RuntimeError) and str(error) != "Query interrupted":
            raise
        return interrupted(error.signum if isinstance(error, _Interrupted) else interrupter.signum)
    except (typer.Abort, MailhuntError, duckdb.Error, OSError) as error:
        err.print(_t(f"mailhunt: {_one_line(error)}"))
        return EXIT_ERROR
    return result if isinstance(result, int) else 0


def _stdout_closed() -> int:
    """stdout's reader is gone: nothing on stderr, and no error when Python flushes it at exit."""
    with open(os.devnull, "wb") as devnull:  # noqa: PTH123 - a descriptor to duplicate
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    return EXIT_STDOUT_CLOSED


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
