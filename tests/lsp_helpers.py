"""An editor, as far as `svcascode lsp` can tell: pytest-lsp's LanguageClient driving the server over stdio,
with what it was published kept per document (and the document version it was published for)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

AS_OF = "2026-11-27"
WAIT = 120.0  # seconds before a wait gives up on a message that never comes (a hang guard, not a speed bound)


class Editor:
    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.args = args
        self.client: LanguageClient = make_test_lsp_client()
        self.published: dict[str, lsp.PublishDiagnosticsParams] = {}
        self.log: list[lsp.PublishDiagnosticsParams] = []
        self.messages: list[str] = []
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self._arrived = asyncio.Condition()
        features = self.client.protocol.fm._features  # pytest-lsp's own handlers of these, replaced by ours
        features.pop(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, None)
        features.pop(lsp.WINDOW_SHOW_MESSAGE, None)

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def publish(client: LanguageClient, params: lsp.PublishDiagnosticsParams) -> None:
            async with self._arrived:
                self.published[params.uri] = params
                self.log.append(params)
                self._arrived.notify_all()

        @self.client.feature(lsp.WINDOW_SHOW_MESSAGE)
        async def show(client: LanguageClient, params: lsp.ShowMessageParams) -> None:
            async with self._arrived:
                self.messages.append(params.message)
                self._arrived.notify_all()

    async def start(self, initialization_options: dict[str, Any] | None = None) -> lsp.InitializeResult:
        await self.client.start_io(sys.executable, "-m", "svcascode", "lsp", "--as-of", AS_OF, *self.args,
                                   cwd=str(self.root))
        capabilities = client_capabilities("visual-studio-code")
        return await self.client.initialize_session(lsp.InitializeParams(
            capabilities=capabilities, root_uri=self.root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=self.root.as_uri(), name="catalogue")],
            initialization_options=initialization_options))

    async def stop(self) -> None:
        await self.client.shutdown_session()

    def uri(self, file: str) -> str:
        return (self.root / file).as_uri()

    def open(self, file: str, text: str | None = None) -> str:
        text = (self.root / file).read_text() if text is None else text
        self.versions[file] = 1
        self.texts[file] = text
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
            uri=self.uri(file), language_id="yaml", version=1, text=text)))
        return text

    def change(self, file: str, text: str) -> int:
        """Replace the whole buffer (unsaved), as a client with full sync does."""
        self.versions[file] += 1
        self.texts[file] = text
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri(file), version=self.versions[file]),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        return self.versions[file]

    def edit(self, file: str, line: int, start: int, end: int, new: str) -> int:
        """An incremental change of one range, as an editor sends a keystroke."""
        self.versions[file] += 1
        lines = self.texts[file].split("\n")
        lines[line] = lines[line][:start] + new + lines[line][end:]
        self.texts[file] = "\n".join(lines)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri(file), version=self.versions[file]),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=line, character=start),
                                end=lsp.Position(line=line, character=end)), text=new)]))
        return self.versions[file]

    def save(self, file: str) -> None:
        (self.root / file).write_text(self.texts[file])
        self.client.text_document_did_save(lsp.DidSaveTextDocumentParams(
            text_document=lsp.TextDocumentIdentifier(uri=self.uri(file))))

    def close(self, file: str) -> None:
        self.client.text_document_did_close(lsp.DidCloseTextDocumentParams(
            text_document=lsp.TextDocumentIdentifier(uri=self.uri(file))))

    async def until(self, check: Callable[[], bool], what: str) -> None:
        async def wait() -> None:
            async with self._arrived:
                await self._arrived.wait_for(check)
        try:
            await asyncio.wait_for(wait(), WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(f"never published: {what}") from None

    async def diagnostics(self, file: str, version: int | None = None) -> list[lsp.Diagnostic]:
        """The diagnostics of a file, once published for that version of its buffer (or at all)."""
        uri = self.uri(file)

        def arrived() -> bool:
            found = self.published.get(uri)
            return found is not None and (version is None or found.version == version)

        await self.until(arrived, f"{file} at version {version}")
        return list(self.published[uri].diagnostics)


def finding_key(item: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a finding of `check --format json`, or the `data` of a diagnostic."""
    return (item["rule"], item["severity"], item["enforcement"], item["message"], item["file"], item["line"],
            item["column"], item["path"], item["kind"], item["name"], item["suppressed"],
            (item.get("waiver") or {}).get("name") if isinstance(item.get("waiver"), dict) else item.get("waiver"))


def published_keys(diagnostics: list[lsp.Diagnostic]) -> list[tuple[Any, ...]]:
    return sorted(finding_key(d.data) for d in diagnostics)
