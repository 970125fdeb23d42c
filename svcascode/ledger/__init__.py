"""The auditors' ledger: the posture on every day of a period, stored once, re-performable from git.

- `source`: everything taken from the rest of svcascode (the main line, loading, assessing, digests);
- `store`: the store of assessments, SQLite or PostgreSQL, one versioned schema;
- `book`: recording, reading and verifying the days of a period, and the summary per control;
- `formats`: JSON, CSV, Markdown and OSCAL assessment results.
"""
