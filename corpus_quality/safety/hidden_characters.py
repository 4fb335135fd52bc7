"""Characters a reader never sees: zero-width characters, Unicode tag characters and
bidirectional controls, each of which can hide or reorder text for a model."""

import re

_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_DROP_ZERO_WIDTH = str.maketrans("", "", _ZERO_WIDTH_CHARS)
_TAG_RUN_RE = re.compile("[\U000e0000-\U000e007f]+")
_BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_NAMES = {
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"


def _is_joiner_context(char: str) -> bool:
    code = ord(char)
    return (
        0x0600 <= code <= 0x06FF  # Arabic, Persian, Urdu: ZWNJ is part of spelling
        or 0x0750 <= code <= 0x077F
        or 0xFB50 <= code <= 0xFDFF
        or 0x0900 <= code <= 0x0DFF  # Indic scripts: ZWJ/ZWNJ select conjunct forms
        or 0x2600 <= code <= 0x27BF  # emoji sequences (👩‍💻) are joined with ZWJ
        or code >= 0x1F000
        or code == 0xFE0F
    )


def zero_width_count(text: str) -> int:
    """Zero-width characters in ``text``, except a leading byte-order mark and joiners a script needs."""
    count = 0
    for match in _ZERO_WIDTH_RE.finditer(text):
        char, position = match.group(0), match.start()
        if char == "\ufeff" and position == 0:
            continue  # a byte-order mark opening the text is an encoding artefact
        if char in "\u200c\u200d":
            before = text[position - 1] if position else " "
            after = text[position + 1] if position + 1 < len(text) else " "
            if _is_joiner_context(before) or _is_joiner_context(after):
                continue
        count += 1
    return count


def hidden_tag_runs(text: str) -> list[str]:
    """Runs of Unicode tag characters that are not part of an emoji flag, decoded to ASCII."""
    runs: list[str] = []
    # Tag characters lie outside the BMP: text that fits in UTF-16 code units cannot hold any.
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
        return runs
    for match in _TAG_RUN_RE.finditer(text):
        run = match.group(0)
        start = match.start()
        # Subdivision flags (🏴 + tags + cancel tag, e.g. England) are the one legitimate use.
        if start > 0 and text[start - 1] == _BLACK_FLAG and run.endswith(_CANCEL_TAG) and len(run) <= 7:
            continue
        runs.append("".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E))
    return runs


def without_zero_width(text: str) -> str:
    """``text`` with every zero-width character removed, as a model effectively reads it."""
    return text.translate(_DROP_ZERO_WIDTH)


def bidi_controls(text: str) -> list[str]:
    """Every bidirectional embedding, override or isolate character in ``text``, in order."""
    return _BIDI_RE.findall(text)


def bidi_names(controls: list[str]) -> list[str]:
    """The sorted, distinct Unicode abbreviations (RLO, LRI, ...) of bidirectional controls."""
    return sorted({_BIDI_NAMES[char] for char in controls})
