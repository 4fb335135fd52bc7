"""C2PA manifests in PDFs are read as provenance evidence, and their claims map to our labels.

The signed PDFs are made here, offline: c2pa-python signs with any ES256 certificate chain,
so each test run creates a throwaway CA and signer with `cryptography`. Such a signer is on
no trust list, so c2pa reports the manifest as "Valid" (signature and content hashes
verify), not "Trusted".
"""

import datetime
import io
import json
from pathlib import Path

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corpus_quality import C2paEvidence, evidence_from_manifest_store, read_c2pa
from corpus_quality.c2pa_evidence import DOCX_MIME, PDF_MIME

FIXTURES = Path(__file__).parents[1] / "fixtures" / "corpus_quality" / "c2pa"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
_KEY_USAGE = dict(
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def _certificate(subject: str, key, issuer: x509.Name, issuer_key, *, ca: bool) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "corpusgov tests"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_BEFORE + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, **_KEY_USAGE), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        # C2PA's certificate profile wants an end-entity EKU such as emailProtection.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def signer() -> c2pa.Signer:
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("corpusgov test CA", ca_key, None, ca_key, ca=True)
    leaf = _certificate("corpusgov test signer", key, ca.subject, ca_key, ca=False)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))


def sign_pdf(signer: c2pa.Signer, generator: str, source_type: str) -> bytes:
    action = {"action": "c2pa.created", "digitalSourceType": IPTC + source_type}
    manifest = {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "title": "invoice-disputes.pdf",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    signed = io.BytesIO()
    with c2pa.Builder.from_json(json.dumps(manifest)) as builder:
        builder.sign(signer, PDF_MIME, io.BytesIO((FIXTURES / "unsigned.pdf").read_bytes()), signed)
    return signed.getvalue()


@pytest.mark.parametrize(
    ("source_type", "label"),
    [
        ("trainedAlgorithmicMedia", "ai_generated"),
        ("compositeWithTrainedAlgorithmicMedia", "ai_assisted"),
        ("digitalCapture", "human"),
        ("digitalCreation", "human"),
    ],
)
def test_signed_pdf_digital_source_type_maps_to_label(
    signer: c2pa.Signer, source_type: str, label: str
) -> None:
    evidence = read_c2pa(sign_pdf(signer, "Northwind Docs", source_type), PDF_MIME)
    assert evidence is not None
    assert evidence.label == label
    assert evidence.digital_source_types == (IPTC + source_type,)
    assert evidence.claim_generator == "Northwind Docs 1.0"
    assert evidence.validation_state == "Valid"
    assert evidence.verified
    assert evidence.signer == "corpusgov test signer"


# c2pa requires every signed manifest to open with a "c2pa.created" action carrying a
# digitalSourceType; algorithmicMedia (procedural, no trained model) is the one that says
# nothing about AI authorship.
def test_ai_claim_generator_decides_when_the_source_type_says_nothing(signer: c2pa.Signer) -> None:
    evidence = read_c2pa(sign_pdf(signer, "ChatGPT", "algorithmicMedia"), PDF_MIME)
    assert evidence is not None
    assert evidence.label == "ai_generated"


def test_manifest_that_says_nothing_about_ai_has_no_label(signer: c2pa.Signer) -> None:
    evidence = read_c2pa(sign_pdf(signer, "Northwind Docs", "algorithmicMedia"), PDF_MIME)
    assert evidence is not None
    assert evidence.verified and evidence.label is None


def test_tampered_pdf_is_not_verified(signer: c2pa.Signer) -> None:
    signed = sign_pdf(signer, "Northwind Docs", "digitalCreation")
    # Change one character of the visible text ("Client" -> "Cliant") after signing.
    position = signed.index(b"Client")
    tampered = signed[:position] + b"Cliant" + signed[position + 6 :]
    evidence = read_c2pa(tampered, PDF_MIME)
    assert evidence is not None
    assert evidence.validation_state == "Invalid"
    assert not evidence.verified


def test_unsigned_and_unreadable_files_have_no_evidence() -> None:
    assert read_c2pa((FIXTURES / "unsigned.pdf").read_bytes(), PDF_MIME) is None
    assert read_c2pa(b"%PDF-1.4 truncated", PDF_MIME) is None
    assert read_c2pa(b"PK\x03\x04 not a zip", DOCX_MIME) is None


@pytest.mark.parametrize("mime_type", ["text/html", "text/markdown", "text/plain"])
def test_text_formats_are_answered_without_reading(mime_type: str) -> None:
    # These formats cannot embed a manifest; even bytes that look like one are not read.
    assert read_c2pa((FIXTURES / "unsigned.pdf").read_bytes(), mime_type) is None


def test_manifest_store_json_picks_the_most_ai_ward_action_of_the_active_manifest() -> None:
    # A manifest store as Reader.json() returns it (a JSON fixture, not a signed file): the
    # ingredient manifest says digitalCapture, the active one composited AI media into it.
    store = json.loads((FIXTURES / "manifest_store_composite.json").read_text())
    evidence = evidence_from_manifest_store(store)
    assert evidence == C2paEvidence(
        label="ai_assisted",
        digital_source_types=(IPTC + "digitalCreation", IPTC + "compositeWithTrainedAlgorithmicMedia"),
        claim_generator="Acme Layout/2.1",
        validation_state="Trusted",
        signer="Acme Inc.",
        manifest_label="urn:c2pa:active",
    )
    assert evidence_from_manifest_store({"manifests": {}}) is None
