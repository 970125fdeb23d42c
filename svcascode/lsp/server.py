"""The language server: open buffers in, the findings of `check` out, on a thread of their own.

Messages are handled on pygls's event loop and never wait for an assessment: a change records the
buffer and wakes the assessment thread, which waits `debounce` seconds for more changes, builds and
assesses the workspace with the buffers as they are then (`CatalogueWorkspace.build`), and publishes
only when no change arrived meanwhile (otherwise it starts again with the newer buffers). Publishing is
handed back to the event loop, which alone writes to the client.

What is published: every open document's findings, and every other file whose findings a change
altered (a team renamed in one file gives its services' files a finding each, and takes it away again
when renamed back). A file once published is kept up to date from then on.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable, TypeVar, cast

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from svcascode import __version__
from svcascode.lsp import features
from svcascode.lsp.workspace import (FAIL_ON_CHOICES, Buffers, CatalogueWorkspace, Options, Snapshot,
                                     SvcascodeError, find_root, parse_buffer)

log = logging.getLogger("svcascode.lsp")
F = TypeVar("F", bound=Callable[..., Any])
CONFIG_FILES = (".svcascode.yaml", "pyproject.toml")
DEFAULT_DEBOUNCE = 0.02


@dataclass
class Published:
    """What the client was last sent for one file."""

    diagnostics: list[lsp.Diagnostic] = field(default_factory=list)
    version: int | None = None


class SvcascodeServer(LanguageServer):
    def __init__(self, options: Options = Options(), debounce: float = DEFAULT_DEBOUNCE) -> None:
        super().__init__("svcascode", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.options = options
        self.debounce = debounce
        self.root: Path | None = None
        self.buffers = Buffers()
        self.catalogue: CatalogueWorkspace | None = None
        self.snapshot: Snapshot | None = None
        self.baseline: Snapshot | None = None  # the files on disk, without the buffers (the assessment thread's)
        self.published: dict[str, Published] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake = threading.Event()
        self._state = threading.Lock()
        self._generation = 0
        self._rescan = True  # read the files on disk again before the next build
        self._reload = True  # read the configuration again (a new CatalogueWorkspace)
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    # -- the assessment thread -------------------------------------------------------------------------------

    def start_assessing(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="svcascode-assess", daemon=True)
            self._thread.start()

    def changed(self, rescan: bool = False, reload: bool = False) -> None:
        """A buffer, a file on disk or the configuration changed: assess again."""
        with self._state:
            self._generation += 1
            self._rescan = self._rescan or rescan
            self._reload = self._reload or reload
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            if self._stopped:
                return
            time.sleep(self.debounce)  # changes arriving meanwhile make one build
            self._wake.clear()
            with self._state:
                generation, rescan, reload = self._generation, self._rescan, self._reload
                self._rescan = self._reload = False
            try:
                snapshot = self._build(generation, rescan, reload)
            except SvcascodeError as error:
                self._report_error(str(error))
                continue
            except Exception:  # a defect: said on stderr, the server goes on with the next change
                log.error("svcascode: internal error while assessing:\n%s", traceback.format_exc())
                continue
            if snapshot is None:
                continue
            with self._state:
                current = self._generation == generation
            if current and self.loop is not None and self.baseline is not None:
                self.loop.call_soon_threadsafe(self._publish, snapshot, self.baseline)

    def _build(self, generation: int, rescan: bool, reload: bool) -> Snapshot | None:
        if self.root is None:
            return None
        if reload or self.catalogue is None:
            self.catalogue = CatalogueWorkspace(self.root, self.options)
            rescan = True
            self.baseline = None
        catalogue = self.catalogue
        if rescan and catalogue.scan():
            self.baseline = None
        if self.baseline is None:  # the workspace as it is on disk: what a change is published against
            self.baseline = catalogue.build({}, generation)
            _settle()
        buffers = self.buffers.copy()
        buffers = {path: value for path, value in buffers.items() if catalogue.relative(catalogue.root / path)}
        overlays = {path: data for path, (data, _) in buffers.items() if not catalogue.on_disk(path, data)}
        snapshot = catalogue.build(overlays, generation) if overlays else replace(self.baseline)
        snapshot.versions = {path: version for path, (_, version) in buffers.items()}
        self._error = None
        return snapshot

    def _report_error(self, text: str) -> None:
        """The catalogue cannot be assessed (an invalid configuration, no catalogue): said once per error."""
        if text != self._error and self.loop is not None:
            self._error = text
            self.loop.call_soon_threadsafe(lambda: self.window_show_message(lsp.ShowMessageParams(
                type=lsp.MessageType.Error, message=f"svcascode: {text}")))

    # -- publishing (on the event loop) ------------------------------------------------------------------------

    def width(self) -> Callable[[str], int]:
        return self.workspace.position_codec.impl.code_units_for_char

    def _publish(self, snapshot: Snapshot, baseline: Snapshot) -> None:
        """The open documents' diagnostics, those of every file whose findings differ from its findings on
        disk, and those of every file published before (kept up to date)."""
        self.snapshot = snapshot
        versions = snapshot.versions
        files = set(versions) | set(self.published)
        if snapshot is not baseline:
            old, new = baseline.by_file, snapshot.by_file
            files.update(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        width = self.width()
        for file in sorted(files):
            uri = features.uri_of(snapshot, file)
            if uri is None or (file not in snapshot.texts and file not in self.published):
                continue
            diagnostics = features.diagnostics(snapshot, file, width) if file in snapshot.texts else []
            version = versions.get(file)
            known = self.published.get(file)
            if known is not None and known.diagnostics == diagnostics and known.version == version:
                continue
            self.published[file] = Published(diagnostics, version)
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=version))

    # -- buffers -------------------------------------------------------------------------------------------

    def file_of(self, uri: str) -> str | None:
        path = features.path_of_uri(uri)
        if path is None or self.root is None:
            return None
        if self.catalogue is not None:
            return self.catalogue.relative(path)
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def buffer(self, uri: str) -> features.Buffer | None:
        """The open document at `uri` as the editor has it now, with its documents parsed."""
        file = self.file_of(uri)
        snapshot = self.snapshot
        if file is None or snapshot is None:
            return None
        try:
            text = self.workspace.get_text_document(uri).source
        except Exception:
            text = snapshot.texts.get(file, "")
        if snapshot.texts.get(file) == text:
            raw = snapshot.raw_documents.get(file, [])
        else:
            raw = parse_buffer(file, text.encode("utf-8", "surrogatepass"), snapshot.settings)
        return features.Buffer(file, text, list(raw))


server_options: dict[str, Any] = {}


def make_server(options: Options = Options(), debounce: float = DEFAULT_DEBOUNCE) -> SvcascodeServer:
    server = SvcascodeServer(options, debounce)

    def safe(default: Any) -> Callable[[F], F]:
        """A handler that answers `default` rather than fail on whatever a buffer holds."""
        def wrap(handler: F) -> F:
            @functools.wraps(handler)  # pygls reads the handler's signature to pass it the server
            def run(*args: Any) -> Any:
                try:
                    return handler(*args)
                except Exception:
                    log.error("svcascode: internal error in %s:\n%s", handler.__name__, traceback.format_exc())
                    return default
            return cast(F, run)
        return wrap

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: SvcascodeServer, params: lsp.InitializeParams) -> None:
        start: Path | None = None
        if params.workspace_folders:
            start = features.path_of_uri(params.workspace_folders[0].uri)
        if start is None and params.root_uri:
            start = features.path_of_uri(params.root_uri)
        if start is None and params.root_path:
            start = Path(params.root_path)
        ls.root = find_root(start or Path.cwd())
        ls.options = _options(ls.options, params.initialization_options)

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: SvcascodeServer, params: lsp.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.start_assessing()
        ls.changed(rescan=True, reload=True)
        capabilities = ls.client_capabilities.workspace
        watch = capabilities.did_change_watched_files if capabilities else None
        if watch is not None and watch.dynamic_registration:
            ls.client_register_capability(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="svcascode-files", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[
                    lsp.FileSystemWatcher(glob_pattern="**/*.{yaml,yml}"),
                    lsp.FileSystemWatcher(glob_pattern="**/pyproject.toml")]))]))

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: SvcascodeServer, params: None) -> None:
        ls.stop()

    @server.feature(lsp.EXIT)
    def exit_(ls: SvcascodeServer, params: None) -> None:
        ls.stop()
        sys.stdout.flush()
        os._exit(0 if ls.protocol._shutdown else 1)  # the stdin reader thread is not waited for

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SvcascodeServer, params: lsp.DidOpenTextDocumentParams) -> None:
        file = ls.file_of(params.text_document.uri)
        if file is not None:
            ls.buffers.set(file, params.text_document.text, params.text_document.version)
            ls.changed()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SvcascodeServer, params: lsp.DidChangeTextDocumentParams) -> None:
        file = ls.file_of(params.text_document.uri)
        if file is not None:
            text = ls.workspace.get_text_document(params.text_document.uri).source
            ls.buffers.set(file, text, params.text_document.version)
            ls.changed()

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SvcascodeServer, params: lsp.DidSaveTextDocumentParams) -> None:
        path = features.path_of_uri(params.text_document.uri)
        ls.changed(rescan=True, reload=path is not None and path.name in CONFIG_FILES)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SvcascodeServer, params: lsp.DidCloseTextDocumentParams) -> None:
        file = ls.file_of(params.text_document.uri)
        if file is not None:
            ls.buffers.drop(file)
            ls.changed(rescan=True)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: SvcascodeServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        names = {(features.path_of_uri(c.uri) or Path()).name for c in params.changes}
        ls.changed(rescan=True, reload=bool(names & set(CONFIG_FILES)))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @safe(None)
    def definition(ls: SvcascodeServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
        buffer = ls.buffer(params.text_document.uri)
        if buffer is None or ls.snapshot is None:
            return None
        return features.definition(ls.snapshot, buffer, params.position, ls.width()) or None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @safe(None)
    def references(ls: SvcascodeServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        buffer = ls.buffer(params.text_document.uri)
        if buffer is None or ls.snapshot is None:
            return None
        return features.references(ls.snapshot, buffer, params.position, ls.width(),
                                   params.context.include_declaration) or None

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @safe(None)
    def document_symbol(ls: SvcascodeServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
        buffer = ls.buffer(params.text_document.uri)
        return features.document_symbols(buffer, ls.width()) if buffer is not None else None

    @server.feature(lsp.WORKSPACE_SYMBOL)
    @safe(None)
    def workspace_symbol(ls: SvcascodeServer, params: lsp.WorkspaceSymbolParams
                         ) -> list[lsp.SymbolInformation] | None:
        if ls.snapshot is None:
            return None
        return features.workspace_symbols(ls.snapshot, params.query, ls.width())

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @safe(None)
    def hover(ls: SvcascodeServer, params: lsp.HoverParams) -> lsp.Hover | None:
        buffer = ls.buffer(params.text_document.uri)
        if buffer is None or ls.snapshot is None:
            return None
        return features.hover(ls.snapshot, buffer, params.position, ls.width())

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[":", " ", "-"]))
    @safe(None)
    def completion(ls: SvcascodeServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        buffer = ls.buffer(params.text_document.uri)
        if buffer is None:
            return None
        items = features.completion(ls.snapshot, buffer, params.position, ls.width())
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    @safe(None)
    def code_action(ls: SvcascodeServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        buffer = ls.buffer(params.text_document.uri)
        if buffer is None:
            return None
        return features.code_actions(params.text_document.uri, buffer, params.context.diagnostics,
                                     ls.width()) or None

    return server


def _options(options: Options, given: Any) -> Options:
    """initializationOptions over the command line's: asOf, failOn, select, ignore."""
    if not isinstance(given, dict):
        return options
    as_of = options.as_of
    if isinstance(given.get("asOf"), str):
        try:
            as_of = date.fromisoformat(given["asOf"])
        except ValueError:
            log.error("svcascode: initializationOptions.asOf %r is not a date (YYYY-MM-DD): ignored", given["asOf"])
    fail_on = given.get("failOn") if given.get("failOn") in FAIL_ON_CHOICES else options.fail_on

    def ids(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return default

    return replace(options, as_of=as_of, fail_on=str(fail_on), select=ids(given.get("select"), options.select),
                   ignore=ids(given.get("ignore"), options.ignore))


def serve(options: Options = Options(), debounce: float = DEFAULT_DEBOUNCE) -> None:
    """Serve on stdin and stdout until the client says `exit` or closes the stream."""
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed by anything else may reach the protocol's stream
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    server = make_server(options, debounce)
    server.start_io(sys.stdin.buffer, stdout)
    server.stop()


def _settle() -> None:
    """After a build of the workspace on disk: its objects (every document, model and result of the
    catalogue) live until the next such build, so they are moved out of the cyclic collector's sight, and a
    collection during an edit walks only what edits made (at 10,000 services a full collection took about
    as long as the rest of an edit). What an earlier baseline left is collected first. Reference counting
    still frees every frozen object that is no longer used; only cycles among them wait for the next one."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
