"""The command line: parse options, build, run, and exit with the code the result decides. Thin by design."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from svcascode import __version__, stages
from svcascode.commands import COMMAND_MODULES
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, stdout_text, visible

if TYPE_CHECKING:
    from svcascode.runcache import RunCache

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Group(click.Group):
    """Turns the one user-caused exception into a message and exit 2; nothing reaches the user as a traceback.

    Commands in svcascode/commands/ are imported only when used, so `validate` on one file (pre-commit)
    does not pay for git, the engine or the renderer.
    """

    # Set by `run()`, whose process ends as soon as the command returns: the cyclic collector, off during
    # the command, stays off, since its first pass would walk every object the run made (a tenth of a cold
    # check) only to free them a moment before the process does.
    process_ends_after = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `--no-cache` and `-v` are the group's options, but read as naturally after the command
        # (`check --no-cache`, `check -v`)
        end = args.index("--") if "--" in args else len(args)
        for flag, spellings in (("--no-cache", ("--no-cache",)), ("--verbose", ("-v", "--verbose"))):
            if any(a in spellings for a in args[:end]):
                kept = [a for a in args[:end] if a not in spellings]
                args = [flag, *kept, *args[end:]]
                end = len(kept) + 1
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            try:
                importlib.import_module(f"svcascode.commands.{COMMAND_MODULES[name]}")
            except SvcascodeError as error:
                click.echo(f"svcascode: error: {_quoted(error)}", err=True)
                ctx.exit(EXIT_ERROR)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        # A run builds hundreds of thousands of small objects (documents, models, findings) that hold no
        # reference cycles and live until it ends; the cyclic collector would walk them all again and
        # again and took a quarter of a check's time. Reference counting still frees everything.
        collecting = gc.isenabled()
        gc.disable()
        from svcascode.store import one_store_per_folder

        with stages.recording() as counts, one_store_per_folder():
            try:
                return self._invoke(ctx)
            finally:
                _end_of_command(counts if ctx.params.get("verbose") else None)
                if collecting and not self.process_ends_after:
                    gc.enable()

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SvcascodeError as error:
            click.echo(f"svcascode: error: {_quoted(error)}", err=True)
            ctx.exit(EXIT_ERROR)
        except click.ClickException as error:  # a usage error quotes what was typed: shown inert
            message = error.format_message
            setattr(error, "format_message", lambda: inert(visible(message(), keep="\n")))
            raise
        except (click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("svcascode: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(EXIT_ERROR)
        except Exception as error:  # a bug, not a user error: say so briefly, keep the details opt-in
            if os.environ.get("SVCASCODE_DEBUG"):
                raise
            click.echo(f"svcascode: internal error: {type(error).__name__}: {_quoted(error)} "
                       "(set SVCASCODE_DEBUG=1 for details and please report it)", err=True)
            ctx.exit(EXIT_ERROR)


def _end_of_command(counts: stages.Stages | None) -> None:
    """What a command says once when it ends, whatever its outcome: the entries the git revisions it read
    held under the roots and that were not read (submodules, other files), and with `-v` what each cached
    stage reused and computed."""
    gitload = sys.modules.get("svcascode.gitload")
    note = gitload.end_of_command_note() if gitload is not None else ""
    if counts is not None and (counts.counts or counts.no_store):
        note += counts.report()
    if note:
        try:
            click.echo(note, err=True, nl=False)
        except (OSError, ValueError):
            pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="svcascode")
@click.option("-C", "--directory", type=click.Path(file_okay=False), default=None,
              help="Run as if started in this directory.")
@click.option("--no-cache", "no_cache", is_flag=True, default=False,
              help="Compute everything afresh: neither read nor write the store of earlier results.")
@click.option("-v", "--verbose", "verbose", is_flag=True, default=False,
              help="Say on stderr what each cached stage reused and computed, and why it computed.")
@click.pass_context
def main(ctx: click.Context, directory: str | None, no_cache: bool, verbose: bool) -> None:
    """svcascode: the service catalogue, its service levels and its compliance controls, as code.

    Exit codes: 0 nothing at or above the fail threshold; 1 findings at or above it (an invalid
    document is a finding); 2 the tool could not do its job.
    """
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as error:
            raise SvcascodeError(f"{directory}: {error.strerror}") from None


def run() -> None:
    """The installed `svcascode` script and `python -m svcascode`: the command line, then the process ends at
    once. A run leaves millions of small objects (documents, models, results) that the interpreter would
    free one by one on its way out, a tenth of a large run's time; everything a run writes is written and
    flushed before its command returns, so nothing is lost by not freeing them, nor by leaving the cyclic
    collector off once the command has returned."""
    code = 0
    main.process_ends_after = True
    try:
        main(standalone_mode=True)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            click.echo(stop.code, err=True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or EXIT_ERROR
    os._exit(code)


def parse_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    """The `--as-of DATE` option of every command that evaluates controls: today when not given."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-27") from None


def output_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The `--output FILE` option of every command: a link there, or on its way, is refused before the run."""
    if value is not None:
        from svcascode.safewrite import check_file

        check_file(value)
    return value


def output_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The `--out DIR` option of every writer: a link on its way is refused before the run."""
    if value is not None:
        from svcascode.safewrite import check_folder

        check_folder(value)
    return value


def _quoted(error: BaseException) -> str:
    """An error message, which may quote a file name, an option or YAML: its control and bidirectional
    characters shown as escapes (the lines the message is made of kept), no line a CI runner's command."""
    return inert(visible(str(error), keep="\n"))


_PIECE = 1 << 20  # characters escaped and written at a time (the escapes are of single characters)


def _write(text: str, output: str | None) -> None:
    if output is None:
        # In pieces: a report of tens of megabytes is then never held escaped and encoded whole as well.
        for start in range(0, len(text), _PIECE):
            click.echo(stdout_text(text[start:start + _PIECE]), nl=False)
        return
    from svcascode.safewrite import write_file

    write_file(output, text)  # never through a link (svcascode.safewrite)


def _context(runs: RunCache | None = None, trusted: tuple[str, str] | None = None) -> tuple[Path, Any]:
    """The repository's root and settings; with a RunCache, the configuration bytes it read are the ones
    validated. With `trusted` (an option and the revision it names, e.g. `("--base", "origin/main")`),
    the settings that run the repository's code (`local_checks:`) and that code come from that revision,
    never from the working tree under review (svcascode.trusted)."""
    from svcascode.checks import enable_local_checks
    from svcascode.config import find_root, load_settings, settings_from

    if runs is not None:
        root, settings = runs.root, settings_from(runs.root, runs.config())
    else:
        root = find_root(Path.cwd())
        settings = load_settings(root)
    if trusted is not None:
        from svcascode.trusted import trusted_local_checks

        option, rev = trusted
        enabled = trusted_local_checks(root, rev, option, settings.local_checks)
        settings = settings.model_copy(update={"local_checks": enabled})
    else:  # only what the configuration names, if anything: this runs the repository's code
        enable_local_checks(root, settings.local_checks)
    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().params.get("no_cache"):
        settings = settings.model_copy(update={"cache": False})
    if not settings.cache:
        stages.no_store()
    return root, settings


def run_cache(request: tuple[Any, ...], paths: tuple[str, ...], tree: bool = True) -> RunCache | None:
    """The run cache for this invocation (`svcascode.runcache.RunCache`), or None with `--no-cache`. `tree`:
    whether the output depends on the working tree's files."""
    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().params.get("no_cache"):
        return None
    from svcascode.configfile import find_root
    from svcascode.runcache import RunCache

    return RunCache(find_root(Path.cwd()), request, paths, tree)


def answer_from(runs: RunCache | None, output: str | None) -> None:
    """Write the output of an earlier run with the same inputs and exit with its code, when there is one."""
    found = runs.answer() if runs is not None else None
    if found is not None:
        if found.said:  # the run's notes, as it wrote them
            click.echo(found.said, err=True, nl=False)
        if output is None and found.plain:  # nothing to escape: written as `_write` writes it, by click
            click.echo(found.text, nl=False)
        else:
            _write(found.text, output)
        sys.exit(found.code)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              callback=output_file, help="Write to this file instead of stdout.")
def validate(paths: tuple[str, ...], fmt: str, output: str | None) -> None:
    """Load and validate documents: YAML, schema, references, cycles.

    With PATHS, only problems in those files are reported; the configured roots are still read so that
    references resolve.
    """
    runs = run_cache(("validate", fmt), paths)
    answer_from(runs, output)
    from svcascode.catalogue import load_catalogue
    from svcascode.formats import FORMATS, Report

    root, settings = _context(runs)
    result = load_catalogue(root, settings, paths)
    findings = result.in_scope(result.findings)
    files = [f for f in result.catalogue.files if result.scope is None or f.path in result.scope]
    documents = sum(1 for d in result.catalogue.documents if result.scope is None or d.file in result.scope)
    report = Report("validate", tuple(findings), documents=documents, files=len(files))
    text, code = FORMATS[fmt](report), EXIT_FINDINGS if findings else EXIT_OK
    if runs is not None:
        runs.keep(settings, result, code, text)
    _write(text, output)
    sys.exit(code)


@main.command()
@click.argument("kind", required=False)
@click.option("--write", is_flag=True, help="Write every schema into schemas/ instead of printing.")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 when schemas/ differs from the models.")
@click.option("--dir", "folder", type=click.Path(file_okay=False),
              callback=output_folder, default="schemas", show_default=True)
def schema(kind: str | None, write: bool, check_only: bool, folder: str) -> None:
    """Print the JSON Schema of KIND (or the combined schema), or write them all with --write."""
    from svcascode.models import KINDS
    from svcascode.schemas import all_schemas, combined_schema, kind_schema, render, write_schemas

    if write:
        for path in write_schemas(Path(folder)):
            click.echo(f"wrote {path}")
        return
    if check_only:
        stale = [name for name, body in all_schemas().items()
                 if not (Path(folder) / name).exists() or (Path(folder) / name).read_text() != render(body)]
        for name in stale:
            click.echo(f"{folder}/{name}: differs from the models; run `svcascode schema --write`")
        sys.exit(EXIT_FINDINGS if stale else EXIT_OK)
    if kind is None:
        click.echo(render(combined_schema()), nl=False)
        return
    match = {k.lower(): k for k in KINDS}.get(kind.lower())
    if match is None:
        raise SvcascodeError(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    click.echo(render(kind_schema(match)), nl=False)


