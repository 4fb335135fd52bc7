"""label_provenance trusts declarations only, never calls anything human without one."""

import pytest

from corpus_quality import ProvenanceLabel, UnknownProvenanceLabelError, label_provenance

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def test_no_metadata_is_unknown_with_zero_confidence() -> None:
    assessment = label_provenance({})
    assert assessment.label == "unknown"
    assert assessment.confidence == 0.0
    assert assessment.evidence == ()
    assert assessment.digital_source_type is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("generator", "ChatGPT (OpenAI GPT-4o)"),
        ("producer", "Claude 3.5 Sonnet"),
        ("creator", "Google Gemini"),
        ("application", "Microsoft 365 Copilot"),
        ("generator", "Mistral-7B-Instruct"),
        ("generator", "Jasper AI"),
        ("producer", "AI-generated summary service"),
    ],
)
def test_known_ai_generator_is_ai_generated_with_evidence(field: str, value: str) -> None:
    assessment = label_provenance({field: value, "title": "Weekly summary"})
    assert assessment.label == "ai_generated"
    assert assessment.digital_source_type == IPTC + "trainedAlgorithmicMedia"
    assert assessment.confidence > 0.5
    assert [(e.kind, e.field, e.value, e.indicates) for e in assessment.evidence] == [
        ("declared_metadata", field, value, "ai_generated")
    ]


@pytest.mark.parametrize(
    "value",
    [
        "Microsoft Word",
        "Microsoft® Word for Microsoft 365",
        "LibreOffice 7.6",
        "pdfTeX-1.40.25",
        "Sphinx 7.2.6",
        "Hugo 0.121.1",
        "JasperReports Library version 6.20.0",
        "Mistral Hotel Booking System",
        "GPT fdisk",
        "LlamaIndex docs builder",
    ],
)
def test_ordinary_tools_are_not_ai(value: str) -> None:
    assessment = label_provenance({"generator": value, "producer": value})
    assert assessment.label == "unknown"
    assert assessment.evidence == ()


def test_author_named_claude_is_not_evidence() -> None:
    assert label_provenance({"author": "Claude Dubois", "creator": "Claude Dubois"}).label == "unknown"


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("trainedAlgorithmicMedia", "ai_generated"),
        ("compositeWithTrainedAlgorithmicMedia", "ai_assisted"),
        ("algorithmicallyEnhanced", "ai_assisted"),
        ("digitalCapture", "human"),
        ("digitalCreation", "human"),
        ("humanEdits", "human"),
    ],
)
def test_iptc_digital_source_type_maps_to_label(code: str, label: str) -> None:
    assessment = label_provenance({"digital_source_type": IPTC + code})
    assert assessment.label == label
    assert assessment.digital_source_type == IPTC + code
    assert assessment.evidence[0].field == "digital_source_type"


def test_explicit_human_front_matter_is_human() -> None:
    assessment = label_provenance({"provenance": "human", "generator": "Hugo 0.121.1"})
    assert assessment.label == "human"
    assert assessment.digital_source_type == IPTC + "digitalCreation"
    assert assessment.confidence > 0.5


@pytest.mark.parametrize(
    ("flag", "label"), [("ai_generated", "ai_generated"), ("ai_assisted", "ai_assisted")]
)
def test_front_matter_ai_flags(flag: str, label: str) -> None:
    assert label_provenance({flag: "true"}).label == label
    assert label_provenance({flag: "false"}).label == "unknown"


def test_source_declaration_applies_when_the_document_is_silent() -> None:
    assessment = label_provenance({"generator": "Microsoft Word"}, source_declaration="human")
    assert assessment.label == "human"
    assert assessment.evidence[0].kind == "source_declaration"
    assert assessment.confidence < label_provenance({"provenance": "human"}).confidence


def test_document_metadata_outranks_source_declaration_and_both_are_evidence() -> None:
    assessment = label_provenance({"generator": "ChatGPT"}, source_declaration="human")
    assert assessment.label == "ai_generated"
    assert {e.kind for e in assessment.evidence} == {"declared_metadata", "source_declaration"}


def test_conflicting_document_declarations_lean_to_ai_with_less_confidence() -> None:
    agreeing = label_provenance({"producer": "Claude 3 Opus"})
    conflicting = label_provenance({"provenance": "human", "producer": "Claude 3 Opus"})
    assert conflicting.label == "ai_generated"
    assert conflicting.confidence < agreeing.confidence
    assert {e.indicates for e in conflicting.evidence} == {"human", "ai_generated"}


def test_unknown_source_declaration_is_neutral_and_invalid_one_raises() -> None:
    assert label_provenance({}, source_declaration="unknown").label == "unknown"
    with pytest.raises(UnknownProvenanceLabelError):
        label_provenance({}, source_declaration="robot")


def test_labels_vocabulary() -> None:
    assert tuple(ProvenanceLabel) == ("human", "ai_assisted", "ai_generated", "unknown")
    assert ProvenanceLabel.declarable() == ("human", "ai_assisted", "ai_generated")
    with pytest.raises(UnknownProvenanceLabelError, match="expected one of human, ai_assisted"):
        ProvenanceLabel.parse("robot")
