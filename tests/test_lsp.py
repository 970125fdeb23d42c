"""`svcascode lsp` driven as an editor drives it, over stdio, by a real LSP client (pytest-lsp): the
diagnostics are the findings `check --format json` reports, as the buffers are; navigation, hover,
completion and quick fixes on the example catalogue; hostile buffers give diagnostics or nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from conftest import copy_example, run_cli
from lsp_helpers import AS_OF, Editor, finding_key, published_keys

SERVICE = "services/catalogue/claims-api.yaml"
TEAM_FILE = "services/teams/finance-systems.yaml"  # one person on call: a finding of its own
OWNER_FILE = "services/teams/platform-engineering.yaml"  # owns three services


def check_findings(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What `check --format json` reports for the catalogue at `root`, per file."""
    ran = run_cli("check", "--format", "json", "--as-of", AS_OF, cwd=root)
    assert ran.returncode in (0, 1), ran.stderr
    found: dict[str, list[tuple[Any, ...]]] = {}
    for finding in json.loads(ran.stdout)["findings"]:
        found.setdefault(finding["file"], []).append(finding_key(finding))
    return {file: sorted(keys) for file, keys in found.items()}


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[tuple[Any, ...]]]]:
    root = copy_example(tmp_path_factory.mktemp("lsp") / "catalogue")
    return root, check_findings(root)


def line_of(text: str, pattern: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if re.search(pattern, line))


@pytest.mark.asyncio
async def test_an_open_document_gets_the_findings_check_reports_and_an_edit_changes_them(example: Path) -> None:
    expected = check_findings(example)
    editor = Editor(example)
    await editor.start()
    try:
        file = TEAM_FILE
        text = editor.open(file)
        found = await editor.diagnostics(file, 1)
        assert published_keys(found) == expected[file]
        assert any(d.code == "oncall-min-rota" and d.severity == lsp.DiagnosticSeverity.Error for d in found)
        # the message is the line check prints, with severity and enforcement
        assert all(d.source == "svcascode" and re.match(r"Team/finance-systems: \[\w+/\w+\] ", d.message)
                   for d in found)

        # an incremental edit, unsaved: the owner of a service becomes a team that does not exist
        service = editor.open(SERVICE)
        await editor.diagnostics(SERVICE, 1)
        number = line_of(service, r"^  owner:")
        start = service.split("\n")[number].index(":") + 2
        owner = service.split("\n")[number][start:]
        version = editor.edit(SERVICE, number, start, len(service.split("\n")[number]), owner + "z")
        found = await editor.diagnostics(SERVICE, version)
        unresolved = [d for d in found if d.code == "ref-unresolved"]
        assert [d.range.start.line for d in unresolved] == [number]
        assert "did you mean" in unresolved[0].message
        assert (example / SERVICE).read_text() == service  # nothing written

        # saved: the disk has it, and the diagnostics are still check's
        editor.save(SERVICE)
        # closed: the file as it is on disk, which check reports on
        editor.close(SERVICE)
        after = check_findings(example)
        await editor.until(lambda: published_keys(editor.published[editor.uri(SERVICE)].diagnostics)
                           == after[SERVICE], "the saved file's findings after closing it")
    finally:
        await editor.stop()


@pytest.mark.asyncio
async def test_a_cross_document_change_is_published_on_every_file_it_alters_and_cleared_when_undone(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, expected = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        text = editor.open(OWNER_FILE)
        await editor.diagnostics(OWNER_FILE, 1)
        owned = sorted(str(p.relative_to(root)) for p in (root / "services" / "catalogue").glob("*.yaml")
                       if re.search(r"(?m)^  owner: platform-engineering$", p.read_text()))
        assert len(owned) >= 2
        renamed = text.replace("name: platform-engineering", "name: platform-engineerin", 1)
        editor.change(OWNER_FILE, renamed)
        for file in owned:  # never opened: published because the change altered their findings
            await editor.until(lambda f=file: editor.uri(f) in editor.published and any(
                d.code == "ref-unresolved" for d in editor.published[editor.uri(f)].diagnostics), file)
            diagnostic = next(d for d in editor.published[editor.uri(file)].diagnostics if d.code == "ref-unresolved")
            assert "Team 'platform-engineering'" in diagnostic.message
            assert "did you mean 'platform-engineerin'" in diagnostic.message
            related = diagnostic.related_information or []
            assert any(r.location.uri == editor.uri(OWNER_FILE) for r in related), related
        editor.change(OWNER_FILE, text)
        for file in owned:
            await editor.until(lambda f=file: not any(
                d.code == "ref-unresolved" for d in editor.published[editor.uri(f)].diagnostics), f"{file} cleared")
            assert published_keys(editor.published[editor.uri(file)].diagnostics) == expected.get(file, [])
    finally:
        await editor.stop()


@pytest.mark.asyncio
async def test_navigation_definition_references_and_symbols(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, _ = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        text = editor.open(SERVICE)
        await editor.diagnostics(SERVICE, 1)
        lines = text.split("\n")
        number = line_of(text, r"^  owner:")
        owner = lines[number].split(":", 1)[1].strip()
        at_owner = lsp.Position(line=number, character=lines[number].index(owner) + 1)
        document = lsp.TextDocumentIdentifier(uri=editor.uri(SERVICE))
        found = await editor.client.text_document_definition_async(lsp.DefinitionParams(text_document=document, position=at_owner))
        assert isinstance(found, list) and len(found) == 1
        target = Path(found[0].uri.removeprefix("file://"))
        target_lines = target.read_text().split("\n")
        assert target_lines[found[0].range.start.line][found[0].range.start.character:].startswith(owner)
        assert re.search(r"(?m)^kind: Team$", target.read_text())

        # find references of the team: every service it owns, at its owner line
        refs = await editor.client.text_document_references_async(lsp.ReferenceParams(
            text_document=document, position=at_owner, context=lsp.ReferenceContext(include_declaration=True)))
        assert refs is not None
        files = {Path(r.uri.removeprefix("file://")).relative_to(root).as_posix() for r in refs}
        owners = {p.relative_to(root).as_posix() for p in (root / "services").rglob("*.yaml")
                  if re.search(rf"(?m)^  owner: {owner}$", p.read_text())}
        assert owners <= files and target.relative_to(root).as_posix() in files

        # a dependency, by its list item
        number = line_of(text, r"- service: |- \{service: ")
        dependency = re.search(r"service: ([\w-]+)", lines[number]).group(1)
        found = await editor.client.text_document_definition_async(lsp.DefinitionParams(
            text_document=document, position=lsp.Position(line=number, character=lines[number].index(dependency) + 2)))
        assert found and found[0].uri.endswith(".yaml")
        assert re.search(rf"(?m)^  name: {dependency}$", Path(found[0].uri.removeprefix("file://")).read_text())

        symbols = await editor.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=document))
        assert symbols and [(s.detail, s.name) for s in symbols][0] == ("Service", "claims-api")
        found = await editor.client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="claims"))
        assert found and {"claims-api"} <= {s.name for s in found}
    finally:
        await editor.stop()


@pytest.mark.asyncio
async def test_hover_on_a_reference_a_control_a_finding_and_a_field(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, _ = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        text = editor.open(SERVICE)
        await editor.diagnostics(SERVICE, 1)
        lines = text.split("\n")
        document = lsp.TextDocumentIdentifier(uri=editor.uri(SERVICE))

        async def hover(number: int, column: int, doc: lsp.TextDocumentIdentifier = document) -> str:
            found = await editor.client.text_document_hover_async(lsp.HoverParams(
                text_document=doc, position=lsp.Position(line=number, character=column)))
            assert found is not None, (number, column)
            assert isinstance(found.contents, lsp.MarkupContent)
            return found.contents.value

        number = line_of(text, r"^  owner:")
        owner = lines[number].split(":", 1)[1].strip()
        shown = await hover(number, lines[number].index(owner))
        assert "on call: primary" in shown and f"Team/{owner}" in shown.replace("\\", "")

        number = line_of(text, r"^  tier:")
        shown = await hover(number, 3)
        assert "tier-0" in shown and "tier-3" in shown  # the field's allowed values

        number = line_of(text, r"^    rpo:")
        shown = await hover(number, 5)
        assert "duration" in shown and "(ms, s, m, h, d, w, y)" in shown  # its description gives the units

        waivers = "policies/waivers.yaml"
        waiver_text = editor.open(waivers)
        await editor.diagnostics(waivers, 1)
        waiver_lines = waiver_text.split("\n")
        number = line_of(waiver_text, r"^  control: ")
        control = waiver_lines[number].split(":", 1)[1].strip()
        shown = await hover(number, waiver_lines[number].index(control) + 1, lsp.TextDocumentIdentifier(
            uri=editor.uri(waivers)))
        assert "Why it matters" in shown and "Remediation" in shown and control in shown

        # on a finding: its message and `explain` of its rule
        team = editor.open(TEAM_FILE)
        found = await editor.diagnostics(TEAM_FILE, 1)
        rota = next(d for d in found if d.code == "oncall-min-rota")
        shown = await hover(rota.range.start.line, rota.range.start.character, lsp.TextDocumentIdentifier(
            uri=editor.uri(TEAM_FILE)))
        assert "oncall-min-rota" in shown and "Failing example" in shown
        assert team
    finally:
        await editor.stop()


@pytest.mark.asyncio
async def test_completion_of_kinds_fields_enum_values_and_names(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, _ = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        text = editor.open(SERVICE)
        await editor.diagnostics(SERVICE, 1)
        document = lsp.TextDocumentIdentifier(uri=editor.uri(SERVICE))

        async def labels(number: int, column: int) -> set[str]:
            found = await editor.client.text_document_completion_async(lsp.CompletionParams(
                text_document=document, position=lsp.Position(line=number, character=column)))
            assert isinstance(found, lsp.CompletionList)
            return {item.label for item in found.items}

        lines = text.split("\n")
        number = line_of(text, r"^kind:")
        editor.edit(SERVICE, number, 6, len(lines[number]), "Se")
        assert {"Service", "ServiceLevel"} <= await labels(number, 8)
        assert "Team" not in await labels(number, 8)
        editor.edit(SERVICE, number, 6, 8, "Service")

        number = line_of(text, r"^  tier:")
        editor.edit(SERVICE, number, 8, len(lines[number]), "")
        assert await labels(number, 8) == {"tier-0", "tier-1", "tier-2", "tier-3"}
        editor.edit(SERVICE, number, 8, 8, lines[number][8:])

        number = line_of(text, r"^  owner:")
        editor.edit(SERVICE, number, 9, len(lines[number]), "")
        teams = await labels(number, 9)
        assert {"finance-systems", "platform-engineering"} <= teams
        assert not any(name.startswith("claims-api") for name in teams)  # teams only, not services
        editor.edit(SERVICE, number, 9, 9, lines[number][9:])

        # a new key under spec: the fields a Service's spec has and this one does not yet
        number = line_of(text, r"^  tier:")
        editor.edit(SERVICE, number, 0, 0, "  \n")
        fields = await labels(number, 2)
        from svcascode.schemas import kind_schema

        spec = kind_schema("Service")["$defs"]["ServiceSpec"]["properties"]
        present = set(re.findall(r"(?m)^  (\w+):", text.split("\nspec:\n", 1)[1]))
        assert fields and fields == set(spec) - present
    finally:
        await editor.stop()




@pytest.mark.asyncio
async def test_quick_fixes_make_the_finding_go_away(on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, _ = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        async def fix(file: str, broken: str, expect_title: str) -> str:
            """Open `broken`, take the quick fix whose title starts with `expect_title`, apply it, and return
            the fixed text once its diagnostics show the finding gone."""
            version = editor.change(file, broken) if file in editor.versions else 1
            if version == 1:
                editor.open(file, broken)
            found = await editor.diagnostics(file, version)
            actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=editor.uri(file)), range=found[0].range if found else
                lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
                context=lsp.CodeActionContext(diagnostics=found)))
            chosen = [a for a in actions or [] if isinstance(a, lsp.CodeAction) and a.title.startswith(expect_title)]
            assert chosen, ([d.message for d in found], [a.title for a in actions or []])
            assert chosen[0].edit is not None and chosen[0].edit.changes is not None
            edits = chosen[0].edit.changes[editor.uri(file)]
            text = broken
            for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
                lines = text.split("\n")
                start, end = edit.range.start, edit.range.end
                head = "\n".join(lines[:start.line] + [lines[start.line][:start.character]])
                tail = "\n".join([lines[end.line][end.character:]] + lines[end.line + 1:])
                text = head + edit.new_text + tail
            version = editor.change(file, text)
            after = await editor.diagnostics(file, version)
            assert not [d for d in after if d.code in ("schema-invalid", "ref-unresolved")
                        and d.range.start.line == chosen[0].diagnostics[0].range.start.line], \
                [d.message for d in after]
            return text

        service = (root / "services/catalogue/hr-system.yaml").read_text()
        fixed = await fix("services/catalogue/hr-system.yaml",
                          re.sub(r"(?m)^  title: .*$", "  title: no", service, count=1), "Quote the value")
        assert re.search(r'(?m)^  title: "no"$', fixed)
        fixed = await fix("services/catalogue/hr-system.yaml",
                          re.sub(r"(?m)^  title: .*$", "  title: 1.2", service, count=1), "Quote the value")
        assert re.search(r'(?m)^  title: "1.2"$', fixed)

        calendars = (root / "services/calendars.yaml").read_text()
        broken = calendars.replace('to: "18:00"', "to: 18:30", 1)
        assert broken != calendars
        fixed = await fix("services/calendars.yaml", broken, "Quote the value")
        assert fixed == calendars.replace('to: "18:00"', 'to: "18:30"', 1)

        claims = (root / SERVICE).read_text()
        fixed = await fix(SERVICE, claims.replace("\n  owner:", "\n  ownr:", 1), "Rename field 'ownr' to 'owner'")
        assert fixed == claims
        owner = re.search(r"(?m)^  owner: (\S+)$", claims).group(1)
        fixed = await fix(SERVICE, claims.replace(f"owner: {owner}", f"owner: {owner[:-1]}", 1),
                          f"Change the reference to '{owner}'")
        assert fixed == claims
        without = re.sub(r"(?m)^  tier: .*\n", "", claims, count=1)
        fixed = await fix(SERVICE, without, "Add the required field 'tier'")
        assert re.search(r"(?m)^  tier: tier-0$", fixed)  # the skeleton: the field with its first allowed value
    finally:
        await editor.stop()


HOSTILE = {
    "tabs": "apiVersion: svcascode.io/v1alpha1\nkind: Service\nmetadata:\n\tname: x\n",
    "half typed": "apiVersion: svcascode.io/v1alpha1\nkind: Serv",
    "deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)),
    "nul": "apiVersion: svcascode.io/v1alpha1\x00\n",
    "bidi": "apiVersion: svcascode.io/v1alpha1\nkind: Team\nmetadata: {name: \u202ex}\nspec: {}\n",
    "unsafe tag": "a: !!python/object/apply:os.system ['true']\n",
    "long line": "a: " + "x" * 100_000 + "\n",
    "empty": "",
}


@pytest.mark.asyncio
async def test_hostile_buffers_give_diagnostics_and_the_server_stays_answering(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]]) -> None:
    root, _ = on_disk
    editor = Editor(root)
    await editor.start()
    try:
        file = "services/catalogue/hostile.yaml"  # a new buffer, never saved
        editor.open(file, "")
        for name, text in HOSTILE.items():
            version = editor.change(file, text)
            found = await editor.diagnostics(file, version)
            assert found, name  # each is a located finding
            assert all(d.source == "svcascode" for d in found)
            for feature in ("hover", "completion", "symbols"):
                position = lsp.Position(line=0, character=3)
                document = lsp.TextDocumentIdentifier(uri=editor.uri(file))
                if feature == "hover":
                    await editor.client.text_document_hover_async(lsp.HoverParams(text_document=document, position=position))
                elif feature == "completion":
                    await editor.client.text_document_completion_async(lsp.CompletionParams(text_document=document, position=position))
                else:
                    await editor.client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=document))
        # a 50 MB paste: refused as check refuses a file over limits.max_file_bytes, located at the file
        version = editor.change(file, "a: b\n" * (10 * 1024 * 1024))
        found = await editor.diagnostics(file, version)
        assert [d.code for d in found] == ["file-refused"] and "limits.max_file_bytes" in found[0].message
        # and with it open, the server still answers a request, then shutdown
        symbols = await editor.client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="claims-api"))
        assert symbols
        assert not (root / file).exists()
    finally:
        await editor.stop()
    assert editor.client._server is not None and editor.client._server.returncode == 0  # exit after shutdown


@pytest.mark.asyncio
async def test_a_configuration_that_cannot_be_read_is_said_once_and_nothing_crashes(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "catalogue")
    (root / ".svcascode.yaml").write_text("roots: [services]\nlimits: {max_depht: 3}\n")
    editor = Editor(root)
    await editor.start()
    try:
        editor.open(SERVICE)
        await editor.until(lambda: bool(editor.messages), "a message about the configuration")
        assert "max_depht" in editor.messages[0] and "max_depth" in editor.messages[0]
    finally:
        await editor.stop()


# ---------------------------------------------------------------------------------------------------
# The property: after any sequence of edits, the server's diagnostics are check's on those buffers


EDITED = ["services/catalogue/claims-api.yaml", "services/teams/platform-engineering.yaml",
          "services/calendars.yaml", "policies/waivers.yaml"]
EDITS = ["owner typo", "rename team", "tier", "title no", "delete line", "garbage", "truncate", "revert"]


def apply_edit(text: str, original: str, edit: str, number: int) -> str:
    lines = text.split("\n")
    if edit == "owner typo":
        return re.sub(r"(?m)^(  owner: \S+)$", r"\1x", text, count=1)
    if edit == "rename team":
        return re.sub(r"(?m)^(  name: \S+)$", r"\1-renamed", text, count=1)
    if edit == "tier":
        return re.sub(r"(?m)^  tier: tier-\d$", f"  tier: tier-{number % 4}", text, count=1)
    if edit == "title no":
        return re.sub(r"(?m)^  title: .*$", "  title: no", text, count=1)
    if edit == "delete line":
        del lines[number % len(lines)]
        return "\n".join(lines)
    if edit == "garbage":
        lines.insert(number % len(lines), "  : : [")
        return "\n".join(lines)
    if edit == "truncate":
        return text[:len(text) * (number % 10) // 10]
    return original


async def edit_sequence(root: Path, steps: list[tuple[int, str, int]]) -> tuple[dict[str, str], Editor]:
    editor = Editor(root)
    await editor.start()
    try:
        originals = {file: editor.open(file) for file in EDITED}
        for index, edit, number in steps:
            file = EDITED[index]
            editor.change(file, apply_edit(editor.texts[file], originals[file], edit, number))
        for file in EDITED:
            await editor.diagnostics(file, editor.versions[file])
        # a request answered after every notification of the last publication
        await editor.client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="x"))
        return dict(editor.texts), editor
    finally:
        await editor.stop()


def test_after_any_edits_the_diagnostics_are_what_check_reports(
        on_disk: tuple[Path, dict[str, list[tuple[Any, ...]]]], tmp_path_factory: pytest.TempPathFactory) -> None:
    import asyncio
    import os

    from hypothesis import HealthCheck, Phase, given, settings, strategies as st

    from svcascode.lsp.workspace import library_path

    root, original = on_disk
    examples = int(os.environ.get("SVCASCODE_LSP_EXAMPLES", "3"))

    # each example starts a server and runs check: few examples, and a failing one is reported as found
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate])
    @given(st.lists(st.tuples(st.integers(0, len(EDITED) - 1), st.sampled_from(EDITS), st.integers(0, 200)),
                    min_size=1, max_size=6))
    def prop(steps: list[tuple[int, str, int]]) -> None:
        texts, editor = asyncio.run(edit_sequence(root, steps))
        edited = tmp_path_factory.mktemp("edited") / "catalogue"
        shutil.copytree(root, edited)
        for file, text in texts.items():
            (edited / file).write_text(text)
        expected = check_findings(edited)
        for file in EDITED:
            assert published_keys(editor.published[editor.uri(file)].diagnostics) == expected.get(file, []), file
        for file in {f for k in (expected, original) for f in k} - set(EDITED):
            library = library_path(file)  # a finding about a control of the built-in library: on its file
            uri = library.as_uri() if library is not None else editor.uri(file)
            if uri in editor.published:  # published because an edit altered its findings: check's
                assert published_keys(editor.published[uri].diagnostics) == expected.get(file, []), file
            else:  # never published: its findings are what they were on disk
                assert expected.get(file, []) == original.get(file, []), file

    prop()
