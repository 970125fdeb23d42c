"""`svcascode lsp`: the checks of `svcascode check` in the editor, as a Language Server.

- `workspace`: the one adapter to the core (settings, discovery, the catalogue builder, the assessment,
  `explain`, the schemas, the references the model knows). Everything else here goes through it.
- `text`: positions, tokens and the YAML path under the cursor, read from a buffer's text alone.
- `features`: diagnostics, navigation, hover, completion and code actions, as pure functions of a
  snapshot of the workspace and a buffer.
- `server`: the pygls server: buffers, the background assessment, publishing.
"""
