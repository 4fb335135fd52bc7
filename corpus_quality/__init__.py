"""corpus_quality: quality grading, declared metadata, provenance labels and safety scans
for documents entering the RAG corpus. Plain Python: no dagster, no pipelines imports."""

from corpus_quality.errors import (
    CorpusQualityError,
    InvalidQualityInputError,
    UnknownGradeError,
    UnknownProvenanceLabelError,
)
from corpus_quality.grading import (
    SIGNAL_WEIGHTS,
    QualityAssessment,
    assess_quality,
    grade_at_least,
)
from corpus_quality.language import detect_language
from corpus_quality.metadata import read_declared_metadata
from corpus_quality.provenance import (
    PROVENANCE_LABELS,
    Evidence,
    ProvenanceAssessment,
    label_provenance,
)
from corpus_quality.safety import SAFETY_CODES, SafetyFlag, redact_pii, scan_safety
from corpus_quality.signals import QUALITY_SIGNALS, QualityInput, compute_signals

__all__ = [
    "PROVENANCE_LABELS",
    "QUALITY_SIGNALS",
    "SAFETY_CODES",
    "SIGNAL_WEIGHTS",
    "CorpusQualityError",
    "Evidence",
    "InvalidQualityInputError",
    "ProvenanceAssessment",
    "QualityAssessment",
    "QualityInput",
    "SafetyFlag",
    "UnknownGradeError",
    "UnknownProvenanceLabelError",
    "assess_quality",
    "compute_signals",
    "detect_language",
    "grade_at_least",
    "label_provenance",
    "read_declared_metadata",
    "redact_pii",
    "scan_safety",
]
