"""Find documents that are near-copies of documents already in the corpus.

Each document is reduced to the set of its normalised 5-word shingles and a MinHash
signature of that set (datasketch); a MinHashLSH index over the signatures returns the
documents whose estimated Jaccard similarity is above the threshold without comparing
against every document. The index is persisted as plain rows (doc id + signature) so a
new run can query its new documents against everything indexed before, not only within
its own batch. datasketch (and the scipy it pulls in, ~0.4 s) is imported on first use,
so importing corpus_quality for provenance or grading stays cheap.
"""

import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from corpus_quality.errors import CorpusQualityError, InvalidQualityInputError

if TYPE_CHECKING:
    from datasketch import MinHash

SHINGLE_WORDS = 5
NUM_PERM = 128
# FineWeb/Dolma-style near-duplicate threshold: at 0.8 estimated Jaccard two documents
# differ by a few sentences at most.
NEAR_DUPLICATE_THRESHOLD = 0.8
# Changing the normalisation, shingle size, hash or MinHash parameters makes stored
# signatures incomparable with new ones; rows carry this so stale rows are rejected.
FINGERPRINT_VERSION = "w5-crc32-mh128-affine32-s1"
_MINHASH_SEED = 1
_MINHASH_SCHEME = "affine32"

# Letters and digits; punctuation, markup and whitespace differences are not edits.
_WORD_RE = re.compile(r"\w+")


def normalised_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` after Unicode compatibility folding (NFKC)."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """32-bit hashes of the text's overlapping ``size``-word shingles.

    A text shorter than ``size`` words is one shingle; an empty text has none. CRC32 is
    used for speed: MinHash's affine32 scheme re-mixes it, and a collision costs at most
    one shingle of similarity.
    """
    words = normalised_words(text)
    if not words:
        return frozenset()
    if len(words) <= size:
        return frozenset({zlib.crc32(" ".join(words).encode())})
    return frozenset(
        zlib.crc32(" ".join(words[i : i + size]).encode()) for i in range(len(words) - size + 1)
    )


@cache
def _template() -> "MinHash":
    # Permutations depend only on (NUM_PERM, seed); generating them per document costs more
    # than hashing a short document, so every MinHash shares this one's.
    try:
        from datasketch import MinHash
    except ImportError as err:
        raise CorpusQualityError(
            "near-duplicate detection needs the datasketch package: pip install datasketch"
        ) from err
    return MinHash(num_perm=NUM_PERM, seed=_MINHASH_SEED, scheme=_MINHASH_SCHEME)


def _identity(value: int) -> int:
    return value


def minhash_of(hashes: Iterable[int]) -> "MinHash":
    """The MinHash signature of a set of shingle hashes."""
    template = _template()
    minhash = type(template)(
        seed=_MINHASH_SEED, hashfunc=_identity, permutations=template.permutations, scheme=_MINHASH_SCHEME
    )
    minhash.update_batch(list(hashes))
    return minhash


def _minhash_from_signature(signature: Iterable[int]) -> "MinHash":
    template = _template()
    return type(template)(
        seed=_MINHASH_SEED,
        hashfunc=_identity,
        hashvalues=list(signature),
        permutations=template.permutations,
        scheme=_MINHASH_SCHEME,
    )


class NearDuplicate(NamedTuple):
    """An indexed document whose estimated Jaccard similarity to the query is high; unpacks as
    ``(doc_id, jaccard)``."""

    doc_id: str
    jaccard: float


class NearDuplicateIndex:
    """MinHash LSH over the documents already in the corpus."""

    def __init__(self, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidQualityInputError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        _template()  # fail here, with the install hint, rather than on first add
        from datasketch import MinHashLSH

        self._lsh: MinHashLSH = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._signatures: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._signatures

    def add(self, doc_id: str, text: str) -> bool:
        """Index a document; re-adding a doc id replaces its signature.

        Returns False (and indexes nothing) for a text without words: it has nothing to
        be a duplicate of.
        """
        hashes = shingle_hashes(text)
        if not hashes:
            self.remove(doc_id)
            return False
        self._insert(doc_id, minhash_of(hashes))
        return True

    def _insert(self, doc_id: str, minhash: "MinHash") -> None:
        self.remove(doc_id)
        self._lsh.insert(doc_id, minhash)
        self._signatures[doc_id] = minhash

    def remove(self, doc_id: str) -> None:
        """Forget a document (deleted or quarantined); unknown ids are ignored."""
        if self._signatures.pop(doc_id, None) is not None:
            self._lsh.remove(doc_id)

    def query(self, text: str, exclude: str | None = None) -> list[NearDuplicate]:
        """Indexed documents near-duplicating ``text``, most similar first.

        ``exclude`` is the document's own id, so re-assessing an indexed document does
        not report it as its own duplicate. LSH candidates are kept only when their
        estimated Jaccard reaches the threshold (LSH banding lets a few lower ones through).
        """
        hashes = shingle_hashes(text)
        if not hashes or not self._signatures:
            return []
        minhash = minhash_of(hashes)
        found = []
        for doc_id in self._lsh.query(minhash):
            if doc_id == exclude:
                continue
            jaccard = float(minhash.jaccard(self._signatures[doc_id]))
            if jaccard >= self.threshold:
                found.append(NearDuplicate(doc_id, round(jaccard, 4)))
        return sorted(found, key=lambda match: (-match.jaccard, match.doc_id))

    def query_and_add(self, doc_id: str, text: str) -> tuple[list[NearDuplicate], dict[str, Any] | None]:
        """`query` then `add` for one document, hashing its shingles once: its near-duplicates
        among the documents indexed before it, and its own row for the ledger (None for a text
        without words). The cost does not depend on how many documents are indexed."""
        hashes = shingle_hashes(text)
        if not hashes:
            self.remove(doc_id)
            return [], None
        minhash = minhash_of(hashes)
        found = []
        if self._signatures:
            for other in self._lsh.query(minhash):
                if other == doc_id:
                    continue
                jaccard = float(minhash.jaccard(self._signatures[other]))
                if jaccard >= self.threshold:
                    found.append(NearDuplicate(other, round(jaccard, 4)))
        self._insert(doc_id, minhash)
        return sorted(found, key=lambda match: (-match.jaccard, match.doc_id)), self._row(doc_id, minhash)

    def _row(self, doc_id: str, minhash: "MinHash") -> dict[str, Any]:
        return {
            "doc_id": doc_id,
            "fingerprint_version": FINGERPRINT_VERSION,
            "signature": [int(value) for value in minhash.hashvalues],
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-able row per document: ``doc_id``, ``fingerprint_version``, ``signature``."""
        return [self._row(doc_id, minhash) for doc_id, minhash in self._signatures.items()]

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], threshold: float = NEAR_DUPLICATE_THRESHOLD
    ) -> "NearDuplicateIndex":
        """Rebuild an index from ``to_rows`` output (e.g. read back from DuckDB)."""
        index = cls(threshold)
        for number, row in enumerate(rows, start=1):
            version = row.get("fingerprint_version")
            if version != FINGERPRINT_VERSION:
                raise InvalidQualityInputError(
                    f"near-duplicate row {number} (doc {row.get('doc_id')!r}) has fingerprint version "
                    f"{version!r}, this code writes {FINGERPRINT_VERSION!r}; re-index the corpus's texts"
                )
            signature = list(row["signature"])
            if len(signature) != NUM_PERM:
                raise InvalidQualityInputError(
                    f"near-duplicate row {number} (doc {row.get('doc_id')!r}) has {len(signature)} "
                    f"signature values, expected {NUM_PERM}"
                )
            index._insert(str(row["doc_id"]), _minhash_from_signature(signature))
        return index


def near_duplicate_signal(matches: Iterable[NearDuplicate]) -> float:
    """Quality signal in [0, 1]: 1 for a unique document, 1 - Jaccard of its closest copy."""
    closest = max((match.jaccard for match in matches), default=0.0)
    return round(max(0.0, 1.0 - closest), 4)
