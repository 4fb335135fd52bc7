"""Language identification for extracted text."""

import re

from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException

# langdetect samples randomly; a fixed seed makes the same text always get the same code,
# so re-ingesting an unchanged document never flips its language.
DetectorFactory.seed = 0

# Detection quality plateaus after a few thousand characters; reading more only costs time.
DETECTION_WINDOW_CHARS = 5_000
# Below this many letters langdetect guesses more or less at random.
MIN_LETTERS = 20

_LETTER_RE = re.compile(r"[^\W\d_]")


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of ``text`` (e.g. "en", "de"), or None when it cannot tell."""
    window = text[:DETECTION_WINDOW_CHARS]
    letters = 0
    for _ in _LETTER_RE.finditer(window):
        letters += 1
        if letters >= MIN_LETTERS:
            break
    if letters < MIN_LETTERS:
        return None
    try:
        code = detect(window)
    except LangDetectException:
        return None
    # langdetect reports Chinese as "zh-cn"/"zh-tw"; the ISO 639-1 part is what callers key on.
    return str(code).split("-")[0]
