"""Label whether a document was written by people, with AI help, or by AI.

Evidence, strongest first; the strongest tier present decides the label and every piece
is kept as evidence:
1. a verified C2PA manifest (signed, bound to the file's bytes);
2. a match in the self-output registry (the RAG app generated this text itself);
3. the document's declared metadata (IPTC digital source type, front matter, the
   generating application); among these the most AI-ward wins;
4. the source contract's declaration;
5. the heuristic AI-text score. It never decides: with nothing stronger the label stays
   "unknown" and the score is carried in ``heuristic_ai_score`` so policy can tag the
   document for review but never quarantine it on a guess (its false-positive rate is
   measured, not zero, and a wrong "ai_generated" would drop a person's document).

Nothing is called "human" without a declaration saying so.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from corpus_quality.ai_text_heuristic import DEFAULT_THRESHOLD as HEURISTIC_TAG_THRESHOLD
from corpus_quality.ai_text_heuristic import HeuristicScore
from corpus_quality.errors import UnknownProvenanceLabelError
from corpus_quality.registry import RegistryMatch
from corpus_quality.vocabulary import ProvenanceLabel

if TYPE_CHECKING:
    # c2pa_evidence maps manifests with this module's IPTC vocabulary, so it imports us.
    from corpus_quality.c2pa_evidence import C2paEvidence


IPTC_DIGITAL_SOURCE_TYPE_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The IPTC code that describes each label when the document did not declare its own.
LABEL_DIGITAL_SOURCE_TYPES: dict[ProvenanceLabel, str | None] = {
    ProvenanceLabel.HUMAN: IPTC_DIGITAL_SOURCE_TYPE_BASE + "digitalCreation",
    ProvenanceLabel.AI_ASSISTED: IPTC_DIGITAL_SOURCE_TYPE_BASE + "compositeWithTrainedAlgorithmicMedia",
    ProvenanceLabel.AI_GENERATED: IPTC_DIGITAL_SOURCE_TYPE_BASE + "trainedAlgorithmicMedia",
    ProvenanceLabel.UNKNOWN: None,
}

# IPTC codes (lower-cased) -> label. algorithmicMedia (procedural, no trained model) and
# dataDrivenMedia say nothing about AI authorship, so they are absent on purpose.
_IPTC_CODE_LABELS: dict[str, ProvenanceLabel] = {
    "trainedalgorithmicmedia": ProvenanceLabel.AI_GENERATED,
    "compositewithtrainedalgorithmicmedia": ProvenanceLabel.AI_ASSISTED,
    "algorithmicallyenhanced": ProvenanceLabel.AI_ASSISTED,
    "compositesynthetic": ProvenanceLabel.AI_ASSISTED,
    "digitalcapture": ProvenanceLabel.HUMAN,
    "computationalcapture": ProvenanceLabel.HUMAN,
    "multiframecomputationalcapture": ProvenanceLabel.HUMAN,
    "screencapture": ProvenanceLabel.HUMAN,
    "negativefilm": ProvenanceLabel.HUMAN,
    "positivefilm": ProvenanceLabel.HUMAN,
    "print": ProvenanceLabel.HUMAN,
    "humanedits": ProvenanceLabel.HUMAN,
    "minorhumanedits": ProvenanceLabel.HUMAN,
    "compositecapture": ProvenanceLabel.HUMAN,
    "digitalcreation": ProvenanceLabel.HUMAN,
    "digitalart": ProvenanceLabel.HUMAN,
    "virtualrecording": ProvenanceLabel.HUMAN,
}

# Fields naming the software that produced the file.
GENERATOR_FIELDS: tuple[str, ...] = ("generator", "producer", "creator", "application")

# Known AI writing tools. Ambiguous words need AI context: "Mistral" alone is also a hotel
# system or a wind, "Jasper" alone is JasperReports, "Claude" alone is a first name,
# "GPT" alone is a partition table; those only match with a model suffix or vendor name.
_AI_GENERATOR_RE = re.compile(
    r"\b(?:"
    r"chat\s?gpt|gpt-?[345](?:\.\d+)?o?(?:[- ](?:turbo|mini|preview))?|openai|o[13]-(?:mini|preview)"
    r"|anthropic|claude(?:\.ai|[- ]?(?:\d\w*|opus|sonnet|haiku|instant|code))"
    r"|gemini|bard|copilot|duet ai"
    r"|llama[- ]?\d\w*|meta ai|mistral(?:\s?ai|[- ](?:\d+(?:\.\d+)?b\w*|large|medium|small|tiny|nemo|instruct))|mixtral"
    r"|deepseek|qwen|grok|perplexity|cohere command"
    r"|jasper(?:\.ai| ai)|copy\.ai|writesonic|sudowrite|rytr|notion ai|gamma\.app"
    r"|ai[- ]generated|generated (?:by|with) (?:an? )?(?:ai|llm|language model)|large language model"
    r")\b",
    re.IGNORECASE,
)
# A generator field holding only an ambiguous name ("Claude", "Mistral", "Llama") can only
# mean the model: nobody names their PDF producer after themselves.
_AI_WHOLE_VALUE_RE = re.compile(r"^\s*(?:claude|mistral|llama|jasper|gpt)\s*$", re.IGNORECASE)

_TRUE_VALUES = frozenset({"true", "yes", "1", "y"})
_DECLARED_LABEL_ALIASES: dict[str, ProvenanceLabel] = {
    "human": ProvenanceLabel.HUMAN,
    "human-written": ProvenanceLabel.HUMAN,
    "human_written": ProvenanceLabel.HUMAN,
    "ai_assisted": ProvenanceLabel.AI_ASSISTED,
    "ai-assisted": ProvenanceLabel.AI_ASSISTED,
    "ai assisted": ProvenanceLabel.AI_ASSISTED,
    "ai_generated": ProvenanceLabel.AI_GENERATED,
    "ai-generated": ProvenanceLabel.AI_GENERATED,
    "ai generated": ProvenanceLabel.AI_GENERATED,
    "unknown": ProvenanceLabel.UNKNOWN,
}

# How much each kind of declaration is trusted. A standard code the producer had to choose
# beats a flag someone typed, which beats an application name (a human may have used
# ChatGPT's export), which beats a blanket declaration covering a whole source.
_CONFIDENCE: dict[str, float] = {
    "iptc": 0.95,
    "front_matter": 0.9,
    "generator": 0.8,
    "source_declaration": 0.6,
    "c2pa_trusted": 0.99,
    "c2pa_valid": 0.97,
    "registry_verbatim": 0.95,
    "registry_lightly_edited": 0.9,
}
# Disagreeing declarations: keep the AI-ward label but say we are less sure.
_CONFLICT_PENALTY = 0.6
# Mislabelling AI text as human is the costly error (it would be trusted and re-ingested),
# so among a document's declarations the most AI-ward wins.
LABEL_SEVERITY: dict[str, int] = {
    ProvenanceLabel.HUMAN: 0,
    ProvenanceLabel.AI_ASSISTED: 1,
    ProvenanceLabel.AI_GENERATED: 2,
}


@dataclass(frozen=True)
class Evidence:
    """One declaration that pointed to a provenance label."""

    kind: str
    field: str
    value: str
    indicates: ProvenanceLabel


@dataclass(frozen=True)
class ProvenanceAssessment:
    """The provenance label of a document and the declarations behind it."""

    label: ProvenanceLabel
    digital_source_type: str | None
    confidence: float
    evidence: tuple[Evidence, ...]
    # Lineage, from a self-output registry match: the documents the generating answer drew
    # on, and 1 + the deepest of their own generation depths (0 = not AI-generated).
    derived_from: tuple[str, ...] = ()
    generation_depth: int = 0
    # The heuristic detector's score when it ran; a tag for review, never a label.
    heuristic_ai_score: float | None = None


def iptc_label(value: str) -> ProvenanceLabel | None:
    """The label an IPTC digitalSourceType (URI, ``iptc:`` code or bare code) stands for."""
    code = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    code = code.lower().removesuffix("digitalsource")  # schema.org spells them ...DigitalSource
    return _IPTC_CODE_LABELS.get(code)


def is_ai_generator(value: str) -> bool:
    """True when a generator/producer/creator/application name is a known AI writing tool."""
    return bool(_AI_GENERATOR_RE.search(value) or _AI_WHOLE_VALUE_RE.match(value))


def _normalise_label(value: str) -> ProvenanceLabel | None:
    return _DECLARED_LABEL_ALIASES.get(value.strip().lower())


def _document_evidence(declared: Mapping[str, str]) -> list[tuple[Evidence, float]]:
    found: list[tuple[Evidence, float]] = []
    source_type = declared.get("digital_source_type")
    if source_type:
        label = iptc_label(source_type)
        if label is not None:
            found.append(
                (
                    Evidence("declared_metadata", "digital_source_type", source_type, label),
                    _CONFIDENCE["iptc"],
                )
            )
    provenance = declared.get("provenance")
    if provenance:
        label = _normalise_label(provenance)
        if label is not None and label != ProvenanceLabel.UNKNOWN:
            found.append(
                (Evidence("declared_metadata", "provenance", provenance, label), _CONFIDENCE["front_matter"])
            )
    for flag, label in (
        ("ai_generated", ProvenanceLabel.AI_GENERATED),
        ("ai_assisted", ProvenanceLabel.AI_ASSISTED),
    ):
        value = declared.get(flag)
        if value is not None and value.strip().lower() in _TRUE_VALUES:
            found.append((Evidence("declared_metadata", flag, value, label), _CONFIDENCE["front_matter"]))
    for field in GENERATOR_FIELDS:
        value = declared.get(field)
        if value and is_ai_generator(value):
            found.append(
                (
                    Evidence("declared_metadata", field, value, ProvenanceLabel.AI_GENERATED),
                    _CONFIDENCE["generator"],
                )
            )
    return found


def _c2pa_evidence(c2pa: "C2paEvidence") -> Evidence | None:
    if c2pa.label is None:
        return None
    declared_type = next(
        (value for value in c2pa.digital_source_types if iptc_label(value) == c2pa.label), None
    )
    field, value = (
        ("digital_source_type", declared_type)
        if declared_type
        else ("claim_generator", c2pa.claim_generator or "")
    )
    if not c2pa.verified:
        # Recorded for the reviewer, never decisive: the claim does not belong to these bytes.
        field, value = f"{field} (manifest {c2pa.validation_state or 'unvalidated'})", value
    return Evidence("c2pa", field, value, c2pa.label)


def _registry_evidence(match: RegistryMatch) -> Evidence:
    value = f"{match.output_id} ({match.match_kind}, similarity {match.similarity:.2f})"
    return Evidence("self_output_registry", "output_id", value, ProvenanceLabel.AI_GENERATED)


class _Decision(NamedTuple):
    """The label a tier of evidence settles on, how sure it is, and the IPTC code to record."""

    label: ProvenanceLabel
    confidence: float
    digital_source_type: str | None


def _source_label(source_declaration: str | None) -> ProvenanceLabel | None:
    """The label a source contract declares for all its documents; an unrecognised word is an error."""
    if source_declaration is None:
        return None
    source_label = _normalise_label(source_declaration)
    if source_label is None:
        raise UnknownProvenanceLabelError(
            f"unknown provenance label {source_declaration!r}; expected one of {', '.join(ProvenanceLabel)}"
        )
    return source_label


def _collect_evidence(
    c2pa_item: Evidence | None,
    registry_item: Evidence | None,
    document: list[tuple[Evidence, float]],
    source_declaration: str | None,
    source_label: ProvenanceLabel | None,
    heuristic: HeuristicScore | None,
) -> list[Evidence]:
    """Every piece of evidence, strongest tier first, as it is kept on the assessment."""
    evidence = [item for item in (c2pa_item, registry_item) if item is not None]
    evidence.extend(item for item, _ in document)
    if source_label is not None and source_label != ProvenanceLabel.UNKNOWN:
        evidence.append(Evidence("source_declaration", "source", source_declaration or "", source_label))
    if heuristic is not None and heuristic.suggests_ai(HEURISTIC_TAG_THRESHOLD):
        evidence.append(
            Evidence("heuristic", "ai_text_score", f"{heuristic.score:.2f}", ProvenanceLabel.AI_GENERATED)
        )
    return evidence


def _strong_decision(
    c2pa: "C2paEvidence | None",
    c2pa_item: Evidence | None,
    registry_match: RegistryMatch | None,
    registry_item: Evidence | None,
    evidence: list[Evidence],
) -> _Decision | None:
    """The decision of a verified C2PA manifest, else of a registry match; None without either."""
    if c2pa is not None and c2pa_item is not None and c2pa.verified:
        strong = c2pa_item
        confidence = _CONFIDENCE["c2pa_trusted" if c2pa.validation_state == "Trusted" else "c2pa_valid"]
        digital_source_type = (
            c2pa_item.value
            if c2pa_item.field == "digital_source_type"
            else LABEL_DIGITAL_SOURCE_TYPES[c2pa_item.indicates]
        )
    elif registry_match is not None and registry_item is not None:
        strong = registry_item
        confidence = _CONFIDENCE[f"registry_{registry_match.match_kind}"]
        digital_source_type = LABEL_DIGITAL_SOURCE_TYPES[ProvenanceLabel.AI_GENERATED]
    else:
        return None
    label = strong.indicates
    rivals = [item for item in evidence if item.kind in ("c2pa", "self_output_registry", "declared_metadata")]
    if any(item.indicates != label for item in rivals):
        confidence *= _CONFLICT_PENALTY
    return _Decision(label, confidence, digital_source_type)


def _declared_decision(document: list[tuple[Evidence, float]]) -> _Decision:
    """The most AI-ward of the document's own declarations (``document`` is not empty)."""
    label = max((item.indicates for item, _ in document), key=LABEL_SEVERITY.__getitem__)
    confidence = max(weight for item, weight in document if item.indicates == label)
    if any(item.indicates != label for item, _ in document):
        confidence *= _CONFLICT_PENALTY
    declared_type = next(
        (
            item.value
            for item, _ in document
            if item.field == "digital_source_type" and item.indicates == label
        ),
        None,
    )
    return _Decision(label, confidence, declared_type or LABEL_DIGITAL_SOURCE_TYPES[label])


def _weaker_decision(
    document: list[tuple[Evidence, float]], source_label: ProvenanceLabel | None
) -> _Decision:
    """Without a manifest or registry match: the document's declarations, then the source's."""
    if document:
        return _declared_decision(document)
    if source_label is not None and source_label != ProvenanceLabel.UNKNOWN:
        confidence = _CONFIDENCE["source_declaration"]
        return _Decision(source_label, confidence, LABEL_DIGITAL_SOURCE_TYPES[source_label])
    return _Decision(ProvenanceLabel.UNKNOWN, 0.0, None)


def label_provenance(
    declared: Mapping[str, str],
    source_declaration: str | None = None,
    *,
    c2pa: "C2paEvidence | None" = None,
    registry_match: RegistryMatch | None = None,
    heuristic: HeuristicScore | None = None,
) -> ProvenanceAssessment:
    """Label a document from the evidence about it, strongest tier first (see module doc).

    Without any evidence the label is "unknown" with confidence 0. When a C2PA manifest or
    a registry match decides and a C2PA, registry or document declaration disagrees, the
    confidence drops; a source's blanket declaration being overridden is expected and does not.
    """
    source_label = _source_label(source_declaration)
    c2pa_item = _c2pa_evidence(c2pa) if c2pa is not None else None
    registry_item = _registry_evidence(registry_match) if registry_match is not None else None
    document = _document_evidence(declared)
    evidence = _collect_evidence(
        c2pa_item, registry_item, document, source_declaration, source_label, heuristic
    )
    decision = _strong_decision(c2pa, c2pa_item, registry_match, registry_item, evidence)
    if decision is None:
        decision = _weaker_decision(document, source_label)

    return ProvenanceAssessment(
        label=decision.label,
        digital_source_type=decision.digital_source_type,
        confidence=round(decision.confidence, 3),
        evidence=tuple(evidence),
        derived_from=registry_match.derived_from if registry_match is not None else (),
        generation_depth=registry_match.generation_depth if registry_match is not None else 0,
        heuristic_ai_score=heuristic.score if heuristic is not None else None,
    )
