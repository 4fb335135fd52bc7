"""Near-verbatim matching of short texts (gold passages, questions, answers) inside chunk texts.

Normalisation: Unicode NFKC, typographic quotes and dashes folded to ASCII, case-folded, runs of
whitespace collapsed to one space. A text is *near-verbatim* in a chunk when its normalised form
is a substring of the chunk's, or when the Jaccard similarity between its character 5-gram set and
that of the best window of the chunk (a window as long as the text, slid one character at a time)
is at least 0.8: about one changed word in a 25-word passage still matches.

Cost: `NearVerbatimMatcher` indexes the few query texts (not the many chunks) by word 3-grams.
Each chunk is read once; only chunks sharing at least 30% of a query's word 3-grams are verified
with the window Jaccard, which is linear in the chunk's length.
"""

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

SHINGLE_CHARS = 5
NEAR_VERBATIM_JACCARD = 0.8
WORD_GRAM = 3
PREFILTER_SHARE = 0.3

K = TypeVar("K", bound=Hashable)

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def normalise_text(text: str) -> str:
    """NFKC, ASCII quotes and dashes, case-folded, whitespace collapsed and trimmed."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHIC).casefold()
    return _WHITESPACE.sub(" ", text).strip()


def char_shingles(normalised: str) -> set[str]:
    """The set of character 5-grams (the whole text when it is shorter than that)."""
    if len(normalised) <= SHINGLE_CHARS:
        return {normalised} if normalised else set()
    return {normalised[i : i + SHINGLE_CHARS] for i in range(len(normalised) - SHINGLE_CHARS + 1)}


def best_window_jaccard(needle: str, haystack: str) -> float:
    """Highest 5-gram Jaccard between `needle` and any equally long window of `haystack`.

    Both arguments must already be normalised.
    """
    wanted = char_shingles(needle)
    if not wanted:
        return 0.0
    if len(haystack) <= len(needle) or len(needle) <= SHINGLE_CHARS:
        window = char_shingles(haystack)
        union = len(wanted | window)
        return len(wanted & window) / union if union else 0.0

    per_window = len(needle) - SHINGLE_CHARS + 1
    grams = [haystack[i : i + SHINGLE_CHARS] for i in range(len(haystack) - SHINGLE_CHARS + 1)]
    counts: dict[str, int] = defaultdict(int)
    shared = 0
    for gram in grams[:per_window]:
        counts[gram] += 1
        if counts[gram] == 1 and gram in wanted:
            shared += 1
    best = shared / (len(wanted) + len(counts) - shared)
    for start in range(1, len(grams) - per_window + 1):
        leaving, entering = grams[start - 1], grams[start + per_window - 1]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
            if leaving in wanted:
                shared -= 1
        counts[entering] += 1
        if counts[entering] == 1 and entering in wanted:
            shared += 1
        best = max(best, shared / (len(wanted) + len(counts) - shared))
    return best


def is_near_verbatim(needle: str, haystack: str) -> bool:
    """Whether normalised `needle` occurs in normalised `haystack` verbatim or near-verbatim."""
    return bool(needle) and (
        needle in haystack or best_window_jaccard(needle, haystack) >= NEAR_VERBATIM_JACCARD
    )


def word_grams(normalised: str, size: int = WORD_GRAM) -> set[tuple[str, ...]]:
    """Word n-grams over `\\w+` tokens; one gram of all words when there are fewer than `size`."""
    words = _WORD.findall(normalised)
    if not words:
        return set()
    if len(words) < size:
        return {tuple(words)}
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class NearVerbatimMatcher(Generic[K]):
    """Finds which of a few keyed query texts occur near-verbatim in a stream of chunk texts."""

    def __init__(self, texts: Mapping[K, str]) -> None:
        self._normalised: dict[K, str] = {}
        self._required: dict[K, int] = {}
        self._index: dict[tuple[str, ...], list[K]] = defaultdict(list)
        self._short: list[K] = []  # texts with fewer than WORD_GRAM words: gram lookup would miss
        for key, text in texts.items():
            normalised = normalise_text(text)
            grams = word_grams(normalised)
            if not grams:
                continue
            self._normalised[key] = normalised
            if len(_WORD.findall(normalised)) < WORD_GRAM:
                self._short.append(key)
                continue
            self._required[key] = max(1, math.ceil(len(grams) * PREFILTER_SHARE))
            for gram in grams:
                self._index[gram].append(key)

    def matches(self, chunk_text: str) -> list[K]:
        """Keys whose text is near-verbatim in `chunk_text`, in insertion order."""
        haystack = normalise_text(chunk_text)
        shared: dict[K, int] = defaultdict(int)
        for gram in word_grams(haystack) & self._index.keys():
            for key in self._index[gram]:
                shared[key] += 1
        found = {
            key
            for key, count in shared.items()
            if count >= self._required[key] and is_near_verbatim(self._normalised[key], haystack)
        }
        found.update(key for key in self._short if self._normalised[key] in haystack)
        return [key for key in self._normalised if key in found]

    def scan(self, chunks: Iterable[tuple[str, str]]) -> dict[K, list[str]]:
        """For (chunk_id, text) pairs, the chunk ids in which each key's text was found."""
        hits: dict[K, list[str]] = defaultdict(list)
        for chunk_id, text in chunks:
            for key in self.matches(text):
                hits[key].append(chunk_id)
        return dict(hits)
