"""Language identification for extracted text."""

import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from corpus_quality.errors import CorpusQualityError

# langdetect samples randomly; a fixed seed makes the same text always get the same code,
# so re-ingesting an unchanged document never flips its language.
DetectorFactory.seed = 0

# Detection quality plateaus after a few thousand characters; reading more only costs time.
DETECTION_WINDOW_CHARS = 5_000
# Below this many letters langdetect guesses more or less at random.
MIN_LETTERS = 20

_LETTER_RE = re.compile(r"[^\W\d_]")

_detector: DetectorFactory | None = None


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
    detector = language_detector().create()
    detector.append(window)
    try:
        code = detector.detect()
    except LangDetectException:
        return None
    # langdetect reports Chinese as "zh-cn"/"zh-tw"; the ISO 639-1 part is what callers key on.
    return str(code).split("-")[0]


def language_detector() -> DetectorFactory:
    """langdetect's language profiles, loaded once per process, completely or not at all.

    langdetect's own loader (behind its `detect`) reads its profiles under a bare `except:`, so a
    Ctrl-C while it reads them became a LangDetectException, and the half-filled detector stayed
    in use: French was read as English, Spanish and Italian as Romanian, for the rest of the
    run. Here the profiles load with SIGINT held until they are all read (the interrupt is
    raised then), and a detector is kept only when it holds every profile."""
    global _detector
    if _detector is None:
        with _interrupts_held():
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            missing = sorted(set(_profile_names()) - set(factory.get_lang_list()))
            if missing:
                raise CorpusQualityError(
                    f"langdetect loaded no profile for {', '.join(missing)} from {PROFILES_DIRECTORY}: "
                    "reinstall it (make install)",
                )
            _detector = factory
    return _detector


def _profile_names() -> list[str]:
    """The languages langdetect ships: one profile file each, named by its code."""
    return [
        name
        for name in os.listdir(PROFILES_DIRECTORY)
        if not name.startswith(".") and os.path.isfile(os.path.join(PROFILES_DIRECTORY, name))
    ]


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Run the block with SIGINT held: a Ctrl-C in it is handled, as it would have been, once
    the block has ended. Python runs signal handlers in the main thread only, so another thread
    has nothing to hold (and may not set a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[FrameType | None] = []
    previous = signal.signal(signal.SIGINT, lambda _signum, frame: received.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, received[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
