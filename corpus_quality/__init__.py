"""corpus_quality: quality grading, declared metadata, provenance labels (C2PA, the
self-output registry, declarations, a heuristic), near-duplicate detection and safety scans
for documents entering the RAG corpus. Plain Python: no dagster, no pipelines imports."""

from corpus_quality.ai_text_heuristic import HeuristicScore, score_ai_text
from corpus_quality.c2pa_evidence import C2paEvidence, evidence_from_manifest_store, read_c2pa
from corpus_quality.errors import (
    CorpusQualityError,
    InvalidQualityInputError,
    UnknownGradeError,
    UnknownProvenanceLabelError,
)
from corpus_quality.grading import QualityAssessment, assess_quality, grade_signals
from corpus_quality.language import detect_language
from corpus_quality.metadata import read_declared_metadata
from corpus_quality.near_duplicates import NearDuplicate, NearDuplicateIndex, near_duplicate_signal
from corpus_quality.provenance import (
    Evidence,
    ProvenanceAssessment,
    label_provenance,
)
from corpus_quality.registry import (
    OutputFingerprint,
    OutputRegistryError,
    RegisteredOutput,
    RegistryMatch,
    SelfOutputRegistry,
    generation_depth,
    load_outputs_jsonl,
)
from corpus_quality.safety import SAFETY_CODES, SafetyFlag, redact_pii, scan_safety
from corpus_quality.signals import QUALITY_SIGNALS, SIGNALS, QualityInput, Signal, compute_signals
from corpus_quality.version import assessment_version
from corpus_quality.vocabulary import Grade, ProvenanceLabel

__all__ = [
    "Grade",
    "ProvenanceLabel",
    "QUALITY_SIGNALS",
    "SAFETY_CODES",
    "SIGNALS",
    "C2paEvidence",
    "CorpusQualityError",
    "Evidence",
    "HeuristicScore",
    "InvalidQualityInputError",
    "NearDuplicate",
    "NearDuplicateIndex",
    "OutputFingerprint",
    "OutputRegistryError",
    "ProvenanceAssessment",
    "QualityAssessment",
    "QualityInput",
    "RegisteredOutput",
    "RegistryMatch",
    "SafetyFlag",
    "SelfOutputRegistry",
    "Signal",
    "UnknownGradeError",
    "UnknownProvenanceLabelError",
    "assess_quality",
    "assessment_version",
    "grade_signals",
    "compute_signals",
    "detect_language",
    "evidence_from_manifest_store",
    "generation_depth",
    "label_provenance",
    "load_outputs_jsonl",
    "near_duplicate_signal",
    "read_c2pa",
    "read_declared_metadata",
    "redact_pii",
    "scan_safety",
    "score_ai_text",
]
