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

import numpy as np

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
    return frozenset(zlib.crc32(" ".join(words[i : i + size]).encode()) for i in range(len(words) - size + 1))


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


class NearDuplicate(NamedTuple):
    """An indexed document whose estimated Jaccard similarity to the query is high; unpacks as
    ``(doc_id, jaccard)``."""

    doc_id: str
    jaccard: float


class NearDuplicateIndex:
    """MinHash LSH over the documents already in the corpus.

    The banding is datasketch's (its optimal bands and rows for the threshold), the storage is
    compact: the signatures are rows of one uint32 array, and each band maps a hash of its slice
    to row numbers. About 1 KB a document, where datasketch's MinHashLSH and MinHash objects took
    about 5: a first ingest holds the whole corpus's index, and its memory must stay flat in N.
    """

    def __init__(self, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidQualityInputError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        _template()  # fail here, with the install hint, rather than on first add
        from datasketch import MinHashLSH

        bands = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._bands = [slice(i * bands.r, (i + 1) * bands.r) for i in range(bands.b)]
        self._buckets: list[dict[int, int | list[int]]] = [{} for _ in self._bands]
        self._values = np.zeros((64, NUM_PERM), dtype=np.uint32)
        self._row_of: dict[str, int] = {}
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row_of

    def add(self, doc_id: str, text: str) -> bool:
        """Index a document; re-adding a doc id replaces its signature.

        Returns False (and indexes nothing) for a text without words: it has nothing to
        be a duplicate of.
        """
        hashes = shingle_hashes(text)
        if not hashes:
            self.remove(doc_id)
            return False
        self._insert(doc_id, _signature(minhash_of(hashes).hashvalues))
        return True

    def _insert(self, doc_id: str, values: np.ndarray) -> None:
        self.remove(doc_id)
        row = len(self._ids)
        if row == len(self._values):
            self._values = np.concatenate([self._values, np.zeros_like(self._values)])
        self._values[row] = values
        self._ids.append(doc_id)
        self._row_of[doc_id] = row
        for band, bucket in zip(self._bands, self._buckets, strict=True):
            key = hash(values[band].tobytes())
            held = bucket.get(key)
            if held is None:
                bucket[key] = row
            elif isinstance(held, int):
                bucket[key] = [held, row]
            else:
                held.append(row)

    def remove(self, doc_id: str) -> None:
        """Forget a document (deleted or quarantined); unknown ids are ignored."""
        row = self._row_of.pop(doc_id, None)
        if row is None:
            return
        values = self._values[row]
        for band, bucket in zip(self._bands, self._buckets, strict=True):
            key = hash(values[band].tobytes())
            held = bucket.get(key)
            if held == row:
                del bucket[key]
            elif isinstance(held, list):
                held.remove(row)
                if len(held) == 1:
                    bucket[key] = held[0]

    def _matches(self, values: np.ndarray, exclude: str | None) -> list[NearDuplicate]:
        rows: set[int] = set()
        for band, bucket in zip(self._bands, self._buckets, strict=True):
            held = bucket.get(hash(values[band].tobytes()))
            if held is not None:
                rows.update((held,) if isinstance(held, int) else held)
        found = []
        for row in rows:
            other = self._ids[row]
            if other == exclude:
                continue
            # datasketch's estimate: the share of equal signature values.
            jaccard = float(np.count_nonzero(self._values[row] == values)) / NUM_PERM
            if jaccard >= self.threshold:
                found.append(NearDuplicate(other, round(jaccard, 4)))
        return sorted(found, key=lambda match: (-match.jaccard, match.doc_id))

    def query(self, text: str, exclude: str | None = None) -> list[NearDuplicate]:
        """Indexed documents near-duplicating ``text``, most similar first.

        ``exclude`` is the document's own id, so re-assessing an indexed document does
        not report it as its own duplicate. LSH candidates are kept only when their
        estimated Jaccard reaches the threshold (LSH banding lets a few lower ones through).
        """
        hashes = shingle_hashes(text)
        if not hashes or not self._row_of:
            return []
        return self._matches(_signature(minhash_of(hashes).hashvalues), exclude)

    def query_and_add(self, doc_id: str, text: str) -> tuple[list[NearDuplicate], bytes | None]:
        """`query` then `add` for one document, hashing its shingles once: its near-duplicates
        among the documents indexed before it, and its signature for the ledger (`NUM_PERM`
        uint32 values as bytes, 512 of them; None for a text without words). The cost does not
        depend on how many documents are indexed."""
        hashes = shingle_hashes(text)
        if not hashes:
            self.remove(doc_id)
            return [], None
        values = _signature(minhash_of(hashes).hashvalues)
        return self._query_then_insert(doc_id, values), values.tobytes()

    def query_and_add_signature(self, doc_id: str, signature: bytes) -> list[NearDuplicate]:
        """`query_and_add` for a document whose signature was computed elsewhere (the bytes
        `query_and_add` returned, e.g. by another process that assessed it): its near-duplicates
        among the documents indexed before it, then it is indexed for the ones after it."""
        values = np.frombuffer(signature, dtype=np.uint32)
        if values.size != NUM_PERM:
            raise InvalidQualityInputError(
                f"near-duplicate signature of {doc_id!r} has {values.size} values, expected {NUM_PERM}"
            )
        return self._query_then_insert(doc_id, values)

    def _query_then_insert(self, doc_id: str, values: np.ndarray) -> list[NearDuplicate]:
        found = self._matches(values, exclude=doc_id) if self._row_of else []
        self._insert(doc_id, values)
        return found

    @staticmethod
    def _row(doc_id: str, values: np.ndarray) -> dict[str, Any]:
        return {
            "doc_id": doc_id,
            "fingerprint_version": FINGERPRINT_VERSION,
            "signature": values.tolist(),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-able row per document: ``doc_id``, ``fingerprint_version``, ``signature``."""
        return [self._row(doc_id, self._values[row]) for doc_id, row in self._row_of.items()]

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
            index._insert(str(row["doc_id"]), _signature(signature))
        return index


def _signature(values: Iterable[int] | np.ndarray) -> np.ndarray:
    """MinHash values as uint32: the affine32 scheme's values are 32-bit."""
    array = np.asarray(values, dtype=np.uint64)
    if array.size and int(array.max()) >= 1 << 32:
        raise InvalidQualityInputError(
            f"near-duplicate signature values must be 32-bit ({_MINHASH_SCHEME}); re-index the corpus's texts"
        )
    return array.astype(np.uint32)


def near_duplicate_signal(matches: Iterable[NearDuplicate]) -> float:
    """Quality signal in [0, 1]: 1 for a unique document, 1 - Jaccard of its closest copy."""
    closest = max((match.jaccard for match in matches), default=0.0)
    return round(max(0.0, 1.0 - closest), 4)
