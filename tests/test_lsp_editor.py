"""A real editor: headless Neovim opens a file of the example catalogue with `svcascode lsp` configured as
its language server and reads back the diagnostics, which are the findings `check` reports for that file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_example, run_cli
from lsp_helpers import AS_OF

FILE = "services/teams/finance-systems.yaml"

# Neovim 0.7 (Debian bookworm) has vim.lsp.start_client; 0.8 and later also vim.lsp.start (docs/editors.md)
INIT = r"""
local out, server, root = vim.env.SVCASCODE_OUT, vim.env.SVCASCODE_SERVER, vim.env.SVCASCODE_ROOT
local client = vim.lsp.start_client({
  name = 'svcascode',
  cmd = { server, '-m', 'svcascode', 'lsp', '--as-of', vim.env.SVCASCODE_AS_OF },
  root_dir = root,
})
vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. vim.env.SVCASCODE_FILE))
local buffer = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buffer, client)
local ok = vim.wait(120000, function() return #vim.diagnostic.get(buffer) > 0 end, 50)
local found = {}
for _, d in ipairs(vim.diagnostic.get(buffer)) do
  table.insert(found, { line = d.lnum + 1, column = d.col + 1, code = d.code or d.user_data.lsp.code,
                        message = d.message, severity = d.severity })
end
local handle = io.open(out, 'w')
handle:write(vim.fn.json_encode({ ok = ok, diagnostics = found }))
handle:close()
vim.lsp.stop_client(client)
vim.wait(5000, function() return vim.lsp.client_is_stopped(client) end, 50)
vim.cmd('qa!')
"""


@pytest.mark.consumer
def test_neovim_shows_the_findings_check_reports_for_the_file(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("nvim is not installed (`make neovim` installs Debian's neovim)")
    root = copy_example(tmp_path / "catalogue")
    ran = run_cli("check", "--format", "json", "--as-of", AS_OF, FILE, cwd=root)
    expected = sorted((f["line"], f["column"], f["rule"]) for f in json.loads(ran.stdout)["findings"])
    assert expected, "the file has findings to show"
    init = tmp_path / "init.lua"
    init.write_text(INIT)
    out = tmp_path / "diagnostics.json"
    subprocess.run([nvim, "--headless", "--clean", "-n", "-u", str(init)], cwd=root, timeout=300, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True,
                   env={**os.environ, "SVCASCODE_OUT": str(out), "SVCASCODE_SERVER": sys.executable,
                        "SVCASCODE_ROOT": str(root), "SVCASCODE_FILE": FILE, "SVCASCODE_AS_OF": AS_OF})
    shown = json.loads(out.read_text())
    assert shown["ok"] is True
    assert sorted((d["line"], d["column"], d["code"]) for d in shown["diagnostics"]) == expected
    assert any("[critical/block]" in d["message"] and d["severity"] == 1 for d in shown["diagnostics"])
