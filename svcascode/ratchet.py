"""Which documents a change touches, for `check --base REV --ratchet touched`.

With the default ratchet (`new`), a finding that already exists at the base never fails the gate, so a
pull request can edit a document and leave its old findings there for good. With `touched`, a finding
on a document the change edits blocks as if it were new: the documents compared are the base's and
the head's, by identity (kind and `metadata.name`, wherever the file is), and a document is touched when
its content differs: its data, not its text, so a comment, a change of quoting or indentation, or a move
to another file or line touches nothing. A finding that belongs to no document (a file that does not
parse) is touched when its file's text differs. A document the change adds has only new findings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svcascode.catalogue import LoadResult
    from svcascode.finding import Finding

RATCHETS = ("new", "touched")
_STRICTNESS = {name: rank for rank, name in enumerate(RATCHETS)}


def stricter(*ratchets: str | None) -> str:
    """The strictest of the ratchets named (`touched` over `new`)."""
    given = [r for r in ratchets if r in _STRICTNESS]
    return max(given, key=lambda r: _STRICTNESS[r]) if given else RATCHETS[0]


def _digest(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _identities(data: Any) -> list[tuple[str, str]]:
    """The identities a document's data claims: its kind and name, and the kind it is indexed under (an
    OpenSLO Service is `openslo/Service`)."""
    if not isinstance(data, dict):
        return []
    kind, metadata = data.get("kind"), data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str):
        return []
    from svcascode.documents import index_kind

    return sorted({(kind, name), (index_kind(data.get("apiVersion"), kind), name)})


@dataclass(frozen=True)
class Contents:
    """A catalogue's documents' content by identity, and its files' text, by path."""

    documents: dict[tuple[str, str], tuple[bytes, ...]]
    files: dict[str, bytes]

    @staticmethod
    def of(result: LoadResult) -> Contents:
        documents: dict[tuple[str, str], list[bytes]] = {}
        files: dict[str, bytes] = {}
        for validated in result.files:
            parsed = validated.parsed
            files[parsed.path] = hashlib.blake2b(parsed.text.encode("utf-8", "surrogatepass"),
                                                 digest_size=16).digest()
            for raw in parsed.documents:
                for identity in _identities(raw.data):
                    documents.setdefault(identity, []).append(_digest(raw.data))
        for refused in result.refused:  # not read: what it is, is why it was refused
            files.setdefault(refused.file, _digest(["refused", refused.message]))
        return Contents({k: tuple(sorted(v)) for k, v in documents.items()}, files)


class Touched:
    """Whether a finding's document (or, for a finding of no document, its file) differs between two catalogues."""

    def __init__(self, base: LoadResult, head: LoadResult) -> None:
        self.base, self.head = Contents.of(base), Contents.of(head)

    def __call__(self, finding: Finding) -> bool:
        if finding.kind and finding.name:
            identity = (finding.kind, finding.name)
            before = self.base.documents.get(identity)
            return before is not None and before != self.head.documents.get(identity)
        before_file = self.base.files.get(finding.file)
        return before_file is not None and before_file != self.head.files.get(finding.file)
