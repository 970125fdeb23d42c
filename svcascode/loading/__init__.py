"""Reading the catalogue's files, one module per job.

- `discover`: which files make the catalogue on disk (roots, exclusions, symlink rules) and refusing
  those that cannot be read (unreadable, oversized, not regular files, links leaving the repository).
- `yamlfile`: one file's bytes -> `RawDocument`s that remember the line and column of every node,
  with hazards (tabs, deep nesting, alias bombs, unsafe tags, duplicate keys) as located findings.
- `cache`: parsed files by the hash of their bytes, in memory and in a signed pack outside the working
  tree (`$SVCASCODE_CACHE_DIR`, `$XDG_CACHE_HOME/svcascode` or `~/.cache/svcascode`).
- `parallel`: parsing many files in order, in worker processes when there are enough of them.

Turning parsed files into a validated catalogue is `svcascode.catalogue.CatalogueBuilder`.
"""
