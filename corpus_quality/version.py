"""The assessment's version: a hash of everything that decides what the assessment says of a
document (the signal table, the grade thresholds, the detectors' versions).

The pipeline puts it in each document's config hash, so a new or re-weighted signal, a moved
threshold or a changed detector re-assesses every document at the next run instead of reaching
only the documents whose bytes change; the corpus never mixes grades from two scorers. A chunk
whose text did not change keeps its vector: re-assessing re-embeds nothing.
"""

import hashlib
import json

from corpus_quality import grading, signals
from corpus_quality.ai_text_heuristic import DEFAULT_THRESHOLD, MIN_WORDS
from corpus_quality.near_duplicates import FINGERPRINT_VERSION
from corpus_quality.safety.person_names import DETECTOR_ID as PERSON_DETECTOR_ID
from corpus_quality.safety.pii import PATTERNS_VERSION

# What the signal table cannot show: the detectors behind provenance, safety and metadata. Bump a
# detector's version when a change to its code changes what it finds in some document.
DETECTOR_VERSIONS: dict[str, str] = {
    "ai_text_heuristic": f"1-threshold{DEFAULT_THRESHOLD}-min{MIN_WORDS}",
    "near_duplicates": FINGERPRINT_VERSION,
    "provenance": "1",  # corpus_quality/provenance.py, c2pa_evidence.py, registry.py
    # corpus_quality/safety/: the PII patterns' version and, under redaction, the NER model's.
    "safety": f"2-patterns{PATTERNS_VERSION}-{PERSON_DETECTOR_ID}",
    "declared_metadata": "1",  # corpus_quality/metadata.py
    "language": "1",  # corpus_quality/language.py
}


def assessment_version() -> str:
    """16 hex digits; the same for the same scorer on any machine."""
    scorer = {
        "signals": [[s.name, s.weight, s.gating, s.reads_text, s.version] for s in signals.SIGNALS],
        "grades": [[str(grade), threshold] for grade, threshold in grading.GRADE_THRESHOLDS],
        "routes": {str(grade): route for grade, route in grading.ROUTES.items()},
        "gate_floor": grading.GATE_FLOOR,
        "reason_threshold": grading.REASON_THRESHOLD,
        "detectors": DETECTOR_VERSIONS,
    }
    return hashlib.sha256(json.dumps(scorer, sort_keys=True).encode()).hexdigest()[:16]
