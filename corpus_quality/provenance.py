"""Label whether a document was written by people, with AI help, or by AI.

Only declarations are trusted here: the document's own metadata (IPTC digital source type,
front matter, the generating application) and the source contract's declaration. Nothing is
inferred from the prose itself, and nothing is called "human" without someone saying so.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from corpus_quality.errors import UnknownProvenanceLabelError

PROVENANCE_LABELS: tuple[str, ...] = ("human", "ai_assisted", "ai_generated", "unknown")

IPTC_DIGITAL_SOURCE_TYPE_BASE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The IPTC code that describes each label when the document did not declare its own.
LABEL_DIGITAL_SOURCE_TYPES: dict[str, str | None] = {
    "human": IPTC_DIGITAL_SOURCE_TYPE_BASE + "digitalCreation",
    "ai_assisted": IPTC_DIGITAL_SOURCE_TYPE_BASE + "compositeWithTrainedAlgorithmicMedia",
    "ai_generated": IPTC_DIGITAL_SOURCE_TYPE_BASE + "trainedAlgorithmicMedia",
    "unknown": None,
}

# IPTC codes (lower-cased) -> label. algorithmicMedia (procedural, no trained model) and
# dataDrivenMedia say nothing about AI authorship, so they are absent on purpose.
_IPTC_CODE_LABELS: dict[str, str] = {
    "trainedalgorithmicmedia": "ai_generated",
    "compositewithtrainedalgorithmicmedia": "ai_assisted",
    "algorithmicallyenhanced": "ai_assisted",
    "compositesynthetic": "ai_assisted",
    "digitalcapture": "human",
    "computationalcapture": "human",
    "multiframecomputationalcapture": "human",
    "screencapture": "human",
    "negativefilm": "human",
    "positivefilm": "human",
    "print": "human",
    "humanedits": "human",
    "minorhumanedits": "human",
    "compositecapture": "human",
    "digitalcreation": "human",
    "digitalart": "human",
    "virtualrecording": "human",
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
_DECLARED_LABEL_ALIASES: dict[str, str] = {
    "human": "human",
    "human-written": "human",
    "human_written": "human",
    "ai_assisted": "ai_assisted",
    "ai-assisted": "ai_assisted",
    "ai assisted": "ai_assisted",
    "ai_generated": "ai_generated",
    "ai-generated": "ai_generated",
    "ai generated": "ai_generated",
    "unknown": "unknown",
}

# How much each kind of declaration is trusted. A standard code the producer had to choose
# beats a flag someone typed, which beats an application name (a human may have used
# ChatGPT's export), which beats a blanket declaration covering a whole source.
_CONFIDENCE: dict[str, float] = {
    "iptc": 0.95,
    "front_matter": 0.9,
    "generator": 0.8,
    "source_declaration": 0.6,
}
# Disagreeing declarations: keep the AI-ward label but say we are less sure.
_CONFLICT_PENALTY = 0.6
# Mislabelling AI text as human is the costly error (it would be trusted and re-ingested),
# so among a document's declarations the most AI-ward wins.
_LABEL_SEVERITY: dict[str, int] = {"human": 0, "ai_assisted": 1, "ai_generated": 2}


@dataclass(frozen=True)
class Evidence:
    """One declaration that pointed to a provenance label."""

    kind: str
    field: str
    value: str
    indicates: str


@dataclass(frozen=True)
class ProvenanceAssessment:
    """The provenance label of a document and the declarations behind it."""

    label: str
    digital_source_type: str | None
    confidence: float
    evidence: tuple[Evidence, ...]


def _iptc_label(value: str) -> str | None:
    code = value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    code = code.lower().removesuffix("digitalsource")  # schema.org spells them ...DigitalSource
    return _IPTC_CODE_LABELS.get(code)


def is_ai_generator(value: str) -> bool:
    """True when a generator/producer/creator/application name is a known AI writing tool."""
    return bool(_AI_GENERATOR_RE.search(value) or _AI_WHOLE_VALUE_RE.match(value))


def _normalise_label(value: str) -> str | None:
    return _DECLARED_LABEL_ALIASES.get(value.strip().lower())


def _document_evidence(declared: Mapping[str, str]) -> list[tuple[Evidence, float]]:
    found: list[tuple[Evidence, float]] = []
    source_type = declared.get("digital_source_type")
    if source_type:
        label = _iptc_label(source_type)
        if label is not None:
            found.append(
                (Evidence("declared_metadata", "digital_source_type", source_type, label), _CONFIDENCE["iptc"])
            )
    provenance = declared.get("provenance")
    if provenance:
        label = _normalise_label(provenance)
        if label is not None and label != "unknown":
            found.append(
                (Evidence("declared_metadata", "provenance", provenance, label), _CONFIDENCE["front_matter"])
            )
    for flag, label in (("ai_generated", "ai_generated"), ("ai_assisted", "ai_assisted")):
        value = declared.get(flag)
        if value is not None and value.strip().lower() in _TRUE_VALUES:
            found.append((Evidence("declared_metadata", flag, value, label), _CONFIDENCE["front_matter"]))
    for field in GENERATOR_FIELDS:
        value = declared.get(field)
        if value and is_ai_generator(value):
            found.append((Evidence("declared_metadata", field, value, "ai_generated"), _CONFIDENCE["generator"]))
    return found


def label_provenance(
    declared: Mapping[str, str], source_declaration: str | None = None
) -> ProvenanceAssessment:
    """Label a document from its declared metadata and its source's declared provenance.

    The document's own declarations outrank the source's; without any, the label is
    "unknown" with confidence 0.
    """
    source_label: str | None = None
    if source_declaration is not None:
        source_label = _normalise_label(source_declaration)
        if source_label is None:
            raise UnknownProvenanceLabelError(
                f"unknown provenance label {source_declaration!r}; expected one of {PROVENANCE_LABELS}"
            )

    document = _document_evidence(declared)
    evidence = [item for item, _ in document]
    if source_label is not None and source_label != "unknown":
        evidence.append(Evidence("source_declaration", "source", source_declaration or "", source_label))

    if document:
        label = max((item.indicates for item, _ in document), key=_LABEL_SEVERITY.__getitem__)
        confidence = max(weight for item, weight in document if item.indicates == label)
        if any(item.indicates != label for item, _ in document):
            confidence *= _CONFLICT_PENALTY
        declared_type = next(
            (item.value for item, _ in document if item.field == "digital_source_type" and item.indicates == label),
            None,
        )
        digital_source_type = declared_type or LABEL_DIGITAL_SOURCE_TYPES[label]
    elif source_label is not None and source_label != "unknown":
        label = source_label
        confidence = _CONFIDENCE["source_declaration"]
        digital_source_type = LABEL_DIGITAL_SOURCE_TYPES[label]
    else:
        label, confidence, digital_source_type = "unknown", 0.0, None

    return ProvenanceAssessment(
        label=label,
        digital_source_type=digital_source_type,
        confidence=round(confidence, 3),
        evidence=tuple(evidence),
    )
