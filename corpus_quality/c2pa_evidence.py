"""Read a document's C2PA manifest (Content Credentials) as provenance evidence.

A C2PA manifest is signed and bound to the file's bytes by a hash, which is why it is
the strongest provenance evidence: a declared IPTC digitalSourceType in a valid manifest
was made by whoever held the signing key, for exactly these bytes.

Of the formats the corpus ingests, only PDF and DOCX can carry a manifest (c2pa-python
reads both; DOCX through its ZIP support). HTML, Markdown and plain text have no C2PA
embedding, so they are answered with None without loading the C2PA library.

Validation states reported by c2pa: "Trusted" (signer on a configured trust list),
"Valid" (signature and content hashes verify, signer not on a trust list: who signed is
unknown, but the claim belongs to these bytes), "Invalid" (the file changed after
signing or the signature is broken). Provenance only decides from Valid or Trusted.
"""

import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corpus_quality.errors import CorpusQualityError
from corpus_quality.metadata import DOCX_MIME, PDF_MIME
from corpus_quality.provenance import LABEL_SEVERITY, iptc_label, is_ai_generator
from corpus_quality.vocabulary import ProvenanceLabel

logger = logging.getLogger(__name__)

# Corpus formats that can embed a C2PA manifest.
C2PA_MIME_TYPES: frozenset[str] = frozenset({PDF_MIME, DOCX_MIME})
VERIFIED_STATES: frozenset[str] = frozenset({"Valid", "Trusted"})


@dataclass(frozen=True)
class C2paEvidence:
    """What a document's active C2PA manifest says about how it was made."""

    label: ProvenanceLabel | None  # None when the manifest says nothing about authorship
    digital_source_types: tuple[str, ...]
    claim_generator: str | None
    validation_state: str | None
    signer: str | None = None
    manifest_label: str | None = None

    @property
    def verified(self) -> bool:
        """True when the signature and content bindings verified."""
        return self.validation_state in VERIFIED_STATES


def _claim_generator(manifest: Mapping[str, Any]) -> str | None:
    generator = manifest.get("claim_generator")
    if isinstance(generator, str):
        return generator
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], Mapping) and info[0].get("name"):
        first = info[0]
        return " ".join(str(part) for part in (first["name"], first.get("version")) if part)
    return None


def _digital_source_types(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for assertion in manifest.get("assertions") or ():
        if not isinstance(assertion, Mapping) or not str(assertion.get("label", "")).startswith(
            "c2pa.actions"
        ):
            continue
        for action in (assertion.get("data") or {}).get("actions") or ():
            value = action.get("digitalSourceType") if isinstance(action, Mapping) else None
            if isinstance(value, str) and value not in found:
                found.append(value)
    return tuple(found)


def evidence_from_manifest_store(store: Mapping[str, Any]) -> C2paEvidence | None:
    """Evidence from a manifest store as c2pa's ``Reader.json()`` returns it.

    Only the active manifest counts: ingredient manifests describe the inputs, not this
    file. Several digitalSourceTypes: the most AI-ward wins. No digitalSourceType: an AI
    tool as the claim generator still means ai_generated.
    """
    manifests = store.get("manifests") or {}
    manifest = manifests.get(store.get("active_manifest"))
    if not isinstance(manifest, Mapping):
        return None
    source_types = _digital_source_types(manifest)
    generator = _claim_generator(manifest)
    labels = [label for label in (iptc_label(value) for value in source_types) if label is not None]
    if labels:
        label: ProvenanceLabel | None = max(labels, key=LABEL_SEVERITY.__getitem__)
    elif generator is not None and is_ai_generator(generator):
        label = ProvenanceLabel.AI_GENERATED
    else:
        label = None
    signature = manifest.get("signature_info") or {}
    signer = signature.get("common_name") or signature.get("issuer")
    return C2paEvidence(
        label=label,
        digital_source_types=source_types,
        claim_generator=generator,
        validation_state=store.get("validation_state"),
        signer=signer,
        manifest_label=manifest.get("label") or store.get("active_manifest"),
    )


def read_c2pa(data: bytes, mime_type: str) -> C2paEvidence | None:
    """The C2PA evidence embedded in a file, or None when it has none.

    Formats that cannot carry a manifest return None at once. A file c2pa cannot parse
    (a malformed PDF) also returns None, logged: the parser reports broken files; here
    it only means there is no readable manifest.
    """
    if mime_type not in C2PA_MIME_TYPES:
        return None
    try:
        import c2pa
    except ImportError as err:
        raise CorpusQualityError(
            "reading C2PA manifests needs the c2pa-python package: pip install c2pa-python"
        ) from err
    try:
        reader = c2pa.Reader.try_create(mime_type, io.BytesIO(data))
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as err:
        logger.info("no readable C2PA manifest in a %s file: %s", mime_type, err)
        return None
    return evidence_from_manifest_store(store)
