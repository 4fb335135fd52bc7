"""The self-output registry: text the RAG application itself generated, registered by the app.

When such text comes back as a corpus document (an answer pasted into a wiki page, saved
as a FAQ), it is AI-generated whatever its metadata says, and it was derived from the
documents the app drew on. Matching is by shingle containment:

- ``similarity`` is the share of the output's normalised 5-word shingles found in the
  document. Containment, not Jaccard: a page that quotes a 150-word answer inside 2,000
  words of its own has a Jaccard similarity near 0.07 with it but contains all of it.
  The reverse (a document that is a short excerpt of an output) is deliberately not
  matched: RAG answers quote their sources, so a short source would look like an excerpt
  of the answer that quoted it.
- Outputs that drew on the document being assessed are skipped for the same reason: an
  extractive answer is mostly its source's sentences, and a source is not derived from
  its own answer.
- ``verbatim`` at similarity >= 0.95, ``lightly_edited`` at >= 0.5: a few words changed
  or sentences added or dropped. Every changed word breaks five shingles, so an output
  with one edit every ~15 words falls near 0.6.
- Paraphrases are NOT matched: rewording breaks nearly every shingle. The heuristic
  detector (corpus_quality.ai_text_heuristic) is the weak net for those.

Why no MinHash LSH here: LSH finds sets with a high *Jaccard* similarity to the query, so
it misses an output quoted inside a longer page; datasketch's LSH Ensemble answers
containment of the *query* in indexed sets, the opposite direction. Instead the registry
keeps an inverted index of anchor shingles (the ~1/4 whose hash is 0 mod 4, chosen by
content, so the same shingle is an anchor in every text): a lookup costs one dict probe per
document shingle, independent of how many outputs are registered, and only candidates
that share anchors are verified exactly against their full shingle sets.
"""

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from corpus_quality.errors import CorpusQualityError
from corpus_quality.near_duplicates import FINGERPRINT_VERSION, shingle_hashes

VERBATIM_THRESHOLD = 0.95
LIGHTLY_EDITED_THRESHOLD = 0.5
# Shorter texts are made of phrases anyone might write ("please contact the service
# desk"); a match on them says nothing about who wrote the document.
MIN_MATCH_SHINGLES = 16  # 20 words
_ANCHOR_MODULUS = 4
# Candidates must share at least this share of the output's anchors before the exact
# check. Well below LIGHTLY_EDITED_THRESHOLD: anchors are a sample and vary around the true value.
_CANDIDATE_ANCHOR_SHARE = 0.3

MatchKind = Literal["verbatim", "lightly_edited"]


class OutputRegistryError(CorpusQualityError, ValueError):
    """A registered-outputs file or stored row could not be read."""


@dataclass(frozen=True)
class RegisteredOutput:
    """One text the RAG application generated, with the documents it drew on."""

    output_id: str
    text: str
    derived_from: tuple[str, ...]
    generated_at: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class OutputFingerprint:
    """The shingle hashes of a text and the anchor subset the registry is looked up by."""

    shingles: frozenset[int]

    @classmethod
    def of(cls, text: str) -> "OutputFingerprint":
        return cls(shingle_hashes(text))

    @cached_property
    def anchors(self) -> frozenset[int]:
        if len(self.shingles) < MIN_MATCH_SHINGLES:
            return frozenset()
        sampled = frozenset(h for h in self.shingles if h % _ANCHOR_MODULUS == 0)
        # A rare output with no sampled anchor keeps its smallest hashes: still content-defined.
        return sampled or frozenset(sorted(self.shingles)[:4])


@dataclass(frozen=True)
class RegistryMatch:
    """A document that contains a registered output, verbatim or lightly edited."""

    output_id: str
    similarity: float
    match_kind: MatchKind
    derived_from: tuple[str, ...]
    # 1 = derived from documents that are not themselves AI-generated. The registry does not
    # know its sources' provenance; the caller sets it with ``at_depth``.
    generation_depth: int = 1

    def at_depth(self, derived_from_depths: Sequence[int]) -> "RegistryMatch":
        """This match with its generation depth computed from its sources' depths."""
        return replace(self, generation_depth=generation_depth(derived_from_depths))


def generation_depth(derived_from_depths: Sequence[int]) -> int:
    """Depth of a text generated from documents at the given depths.

    Human or unknown documents are depth 0, so an answer drawn from them is depth 1 and an
    answer drawn from that answer is depth 2; no sources also gives depth 1.
    """
    if any(depth < 0 for depth in derived_from_depths):
        raise OutputRegistryError(f"generation depths must be >= 0, got {list(derived_from_depths)}")
    return 1 + max(derived_from_depths, default=0)


def _match_kind(similarity: float) -> MatchKind | None:
    if similarity >= VERBATIM_THRESHOLD:
        return "verbatim"
    if similarity >= LIGHTLY_EDITED_THRESHOLD:
        return "lightly_edited"
    return None


class SelfOutputRegistry:
    """Registered outputs, looked up by the shingles a document shares with them."""

    def __init__(self) -> None:
        self._outputs: dict[str, RegisteredOutput] = {}
        self._fingerprints: dict[str, OutputFingerprint] = {}
        self._by_anchor: defaultdict[int, set[str]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._outputs)

    def __contains__(self, output_id: object) -> bool:
        return output_id in self._outputs

    def add(self, outputs: Iterable[RegisteredOutput]) -> None:
        """Register outputs; re-registering an output id replaces the earlier text."""
        for output in outputs:
            self._insert(output, OutputFingerprint.of(output.text))

    def _insert(self, output: RegisteredOutput, fingerprint: OutputFingerprint) -> None:
        self.remove(output.output_id)
        self._outputs[output.output_id] = output
        self._fingerprints[output.output_id] = fingerprint
        for anchor in fingerprint.anchors:
            self._by_anchor[anchor].add(output.output_id)

    def remove(self, output_id: str) -> None:
        """Forget an output (retracted by the app); unknown ids are ignored."""
        if self._outputs.pop(output_id, None) is None:
            return
        for anchor in self._fingerprints.pop(output_id).anchors:
            holders = self._by_anchor[anchor]
            holders.discard(output_id)
            if not holders:
                del self._by_anchor[anchor]

    def match(self, text: str, doc_id: str | None = None) -> RegistryMatch | None:
        """The registered output whose shingles this text contains most, if any.

        ``doc_id`` is the id of the document being assessed: outputs derived from it are
        not candidates.
        """
        if not self._by_anchor:
            return None  # the usual case, no outputs registered: no need to hash the text
        document = shingle_hashes(text)
        hits: Counter[str] = Counter()
        for shingle in document:
            for output_id in self._by_anchor.get(shingle, ()):
                hits[output_id] += 1

        best: RegistryMatch | None = None
        best_rank: tuple[float, int, str] | None = None
        for output_id, shared_anchors in hits.items():
            output = self._fingerprints[output_id]
            if shared_anchors < math.ceil(_CANDIDATE_ANCHOR_SHARE * len(output.anchors)):
                continue
            derived_from = self._outputs[output_id].derived_from
            if doc_id is not None and doc_id in derived_from:
                continue
            similarity = round(len(output.shingles & document) / len(output.shingles), 4)
            kind = _match_kind(similarity)
            if kind is None:
                continue
            # Equal similarity: the longer output explains more of the document (an answer that
            # quotes an earlier answer contains all of it, and is the later generation).
            rank = (similarity, len(output.shingles), output_id)
            if best_rank is None or rank > best_rank:
                best, best_rank = RegistryMatch(output_id, similarity, kind, derived_from), rank
        return best

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-able row per output, with its shingle hashes so loading needs no re-hashing."""
        return [
            {
                "output_id": output.output_id,
                "text": output.text,
                "derived_from": list(output.derived_from),
                "generated_at": output.generated_at,
                "model": output.model,
                "fingerprint_version": FINGERPRINT_VERSION,
                "shingle_hashes": sorted(self._fingerprints[output.output_id].shingles),
            }
            for output in self._outputs.values()
        ]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "SelfOutputRegistry":
        """Rebuild a registry from ``to_rows`` output; rows fingerprinted by older code are
        re-fingerprinted from their text."""
        registry = cls()
        for number, row in enumerate(rows, start=1):
            try:
                output = RegisteredOutput(
                    output_id=str(row["output_id"]),
                    text=str(row["text"]),
                    derived_from=tuple(str(doc_id) for doc_id in row["derived_from"]),
                    generated_at=row.get("generated_at"),
                    model=row.get("model"),
                )
            except (KeyError, TypeError) as err:
                raise OutputRegistryError(f"registry row {number} is missing or mistypes {err}") from err
            if (
                row.get("fingerprint_version") == FINGERPRINT_VERSION
                and row.get("shingle_hashes") is not None
            ):
                fingerprint = OutputFingerprint(frozenset(int(h) for h in row["shingle_hashes"]))
            else:
                fingerprint = OutputFingerprint.of(output.text)
            registry._insert(output, fingerprint)
        return registry


def _optional_string(record: Mapping[str, Any], field: str, where: str) -> str | None:
    value = record.get(field)
    if value is not None and not isinstance(value, str):
        raise OutputRegistryError(f"{where}: {field!r} must be a string, got {type(value).__name__}")
    return value


def load_outputs_jsonl(path: str | Path) -> list[RegisteredOutput]:
    """Read the outputs the app registered, one JSON object per line.

    Fields: ``id`` and ``text`` (strings), ``derived_from`` (list of doc ids), optional
    ``generated_at`` and ``model``. Blank lines are skipped; other fields are ignored.
    Errors name the file and line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise OutputRegistryError(f"cannot read registered outputs from {path}: {err}") from err

    outputs: list[RegisteredOutput] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise OutputRegistryError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from err
        if not isinstance(record, dict):
            raise OutputRegistryError(f"{where}: expected a JSON object, got {type(record).__name__}")
        for field in ("id", "text"):
            if not isinstance(record.get(field), str) or not record[field].strip():
                raise OutputRegistryError(f"{where}: {field!r} is required and must be a non-empty string")
        derived_from = record.get("derived_from")
        if not isinstance(derived_from, list) or not all(isinstance(doc, str) for doc in derived_from):
            raise OutputRegistryError(f"{where}: 'derived_from' is required and must be a list of doc ids")
        output_id = record["id"]
        if output_id in first_line:
            raise OutputRegistryError(
                f"{where}: output id {output_id!r} was already registered on line {first_line[output_id]}"
            )
        first_line[output_id] = number
        outputs.append(
            RegisteredOutput(
                output_id=output_id,
                text=record["text"],
                derived_from=tuple(derived_from),
                generated_at=_optional_string(record, "generated_at", where),
                model=_optional_string(record, "model", where),
            )
        )
    return outputs
