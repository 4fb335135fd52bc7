"""Stronger provenance evidence decides: C2PA > self-output registry > declared metadata >
source declaration; the heuristic score is carried along but never decides."""

from corpus_quality import C2paEvidence, HeuristicScore, RegistryMatch, label_provenance

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def c2pa(label: str | None, code: str | None, state: str = "Valid") -> C2paEvidence:
    return C2paEvidence(
        label=label,
        digital_source_types=(IPTC + code,) if code else (),
        claim_generator="Acme Layout 2.1",
        validation_state=state,
    )


MATCH = RegistryMatch("out-42", 0.97, "verbatim", ("hr/leave-policy.docx", "out-7"), generation_depth=2)
AI_LOOKING = HeuristicScore(0.81, {"phrases": 1.0})


def test_old_call_still_works_and_sets_no_lineage() -> None:
    assessment = label_provenance({"generator": "ChatGPT"}, "human")
    assert assessment.label == "ai_generated"
    assert (assessment.derived_from, assessment.generation_depth, assessment.heuristic_ai_score) == (
        (),
        0,
        None,
    )


def test_registry_match_beats_declared_metadata_and_carries_lineage() -> None:
    assessment = label_provenance({"generator": "Microsoft Word"}, "human", registry_match=MATCH)
    assert assessment.label == "ai_generated"
    assert assessment.digital_source_type == IPTC + "trainedAlgorithmicMedia"
    assert assessment.evidence[0].kind == "self_output_registry"
    assert assessment.evidence[0].indicates == "ai_generated"
    assert "out-42" in assessment.evidence[0].value and "0.97" in assessment.evidence[0].value
    assert assessment.derived_from == ("hr/leave-policy.docx", "out-7")
    assert assessment.generation_depth == 2
    assert assessment.confidence >= 0.9


def test_registry_match_contradicted_by_front_matter_is_less_confident() -> None:
    contradicted = label_provenance({"provenance": "human"}, registry_match=MATCH)
    assert contradicted.label == "ai_generated"
    assert contradicted.confidence < label_provenance({}, registry_match=MATCH).confidence
    assert {e.kind for e in contradicted.evidence} == {"self_output_registry", "declared_metadata"}


def test_verified_c2pa_beats_everything() -> None:
    assessment = label_provenance(
        {"generator": "ChatGPT", "ai_generated": "true"},
        "ai_generated",
        c2pa=c2pa("human", "digitalCreation"),
        registry_match=MATCH,
        heuristic=AI_LOOKING,
    )
    assert assessment.label == "human"
    assert assessment.digital_source_type == IPTC + "digitalCreation"
    assert assessment.evidence[0].kind == "c2pa"
    assert [e.kind for e in assessment.evidence] == [
        "c2pa",
        "self_output_registry",
        "declared_metadata",
        "declared_metadata",
        "source_declaration",
        "heuristic",
    ]


def test_c2pa_ai_label_keeps_its_declared_source_type() -> None:
    assessment = label_provenance(
        {}, c2pa=c2pa("ai_assisted", "compositeWithTrainedAlgorithmicMedia", "Trusted")
    )
    assert assessment.label == "ai_assisted"
    assert assessment.digital_source_type == IPTC + "compositeWithTrainedAlgorithmicMedia"
    assert assessment.confidence == 0.99


def test_invalid_c2pa_manifest_is_recorded_but_does_not_decide() -> None:
    assessment = label_provenance(
        {"provenance": "human"}, c2pa=c2pa("ai_generated", "trainedAlgorithmicMedia", "Invalid")
    )
    assert assessment.label == "human"
    assert assessment.evidence[0].kind == "c2pa"
    assert "Invalid" in assessment.evidence[0].field


def test_c2pa_without_a_label_leaves_the_decision_to_weaker_evidence() -> None:
    assessment = label_provenance({"producer": "Claude 3 Opus"}, c2pa=c2pa(None, "algorithmicMedia"))
    assert assessment.label == "ai_generated"
    assert [e.kind for e in assessment.evidence] == ["declared_metadata"]


def test_heuristic_alone_never_labels_ai_generated() -> None:
    assessment = label_provenance({}, heuristic=AI_LOOKING)
    assert assessment.label == "unknown"
    assert assessment.confidence == 0.0
    assert assessment.digital_source_type is None
    assert assessment.heuristic_ai_score == 0.81
    assert [(e.kind, e.indicates) for e in assessment.evidence] == [("heuristic", "ai_generated")]


def test_heuristic_does_not_override_a_human_declaration() -> None:
    assessment = label_provenance({}, "human", heuristic=AI_LOOKING)
    assert assessment.label == "human"
    assert assessment.confidence == label_provenance({}, "human").confidence


def test_low_heuristic_score_is_kept_without_evidence() -> None:
    assessment = label_provenance({}, heuristic=HeuristicScore(0.05, {}))
    assert assessment.heuristic_ai_score == 0.05
    assert assessment.evidence == ()
