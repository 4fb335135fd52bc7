"""corpus_quality is a plain library: importing it pulls in neither dagster nor the pipelines."""

import subprocess
import sys

PROBE = (
    "import sys, corpus_quality\n"
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'pipelines'))\n"
    "print(','.join(bad))\n"
)


def test_import_does_not_load_dagster_or_pipelines() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_api_is_reexported() -> None:
    import corpus_quality

    for name in (
        "detect_language",
        "QualityInput",
        "QUALITY_SIGNALS",
        "compute_signals",
        "QualityAssessment",
        "assess_quality",
        "Grade",
        "read_declared_metadata",
        "ProvenanceLabel",
        "Evidence",
        "ProvenanceAssessment",
        "label_provenance",
        "SafetyFlag",
        "scan_safety",
        "redact_pii",
    ):
        assert hasattr(corpus_quality, name), name
