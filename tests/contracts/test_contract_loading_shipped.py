import hashlib
from datetime import timedelta

import pytest

from contracts import (
    DEFAULT_CONTRACT_PATH,
    STRICT_CONTRACT_PATH,
    ChunkingPolicy,
    lint_contract,
    load_contract,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_default_contract_loads_with_permissive_settings() -> None:
    contract = load_contract(DEFAULT_CONTRACT_PATH)

    assert (contract.id, contract.version) == ("corpusgov-default", "1.0.0")
    assert contract.source_path is None, "the default contract binds to no folder"
    assert contract.required_fields == ("title",)
    assert (contract.min_text_chars, contract.max_text_chars) == (40, 2_000_000)
    assert contract.allowed_mime_types == (
        "text/html",
        "text/markdown",
        "text/plain",
        "application/pdf",
        DOCX,
    )
    assert contract.allowed_languages is None
    assert contract.minimum_grade == "F"
    assert (contract.injection_policy, contract.ai_generated_policy, contract.pii_policy) == (
        "tag",
        "tag",
        "allow",
    )
    assert contract.max_violation_rate == 1.0
    assert contract.severity == "error"
    assert contract.chunking == ChunkingPolicy()
    assert contract.embedding_model is None and contract.embedding_dimensions is None
    assert contract.max_age is None and contract.no_duplicate_content is False
    assert contract.blocks_when_over_budget


def test_strict_contract_loads_every_rule() -> None:
    contract = load_contract(STRICT_CONTRACT_PATH)

    assert contract.required_fields == ("title", "author", "modified")
    assert contract.field_types["modified"] == "date"
    assert "embedding" not in contract.field_types  # the vector is not a document metadata field
    assert contract.allowed_languages == ("en", "de")
    assert contract.minimum_grade == "C"
    assert contract.allowed_grades == ("A", "B", "C")
    assert (contract.injection_policy, contract.ai_generated_policy) == ("quarantine", "quarantine")
    assert contract.pii_policy == "redact"
    assert contract.source_provenance == "human"
    assert contract.max_violation_rate == 0.2
    assert contract.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert contract.embedding_dimensions == 384
    assert contract.chunking == ChunkingPolicy(1200, 900, 250)
    assert contract.field_types["created"] == "date" and contract.field_types["revision"] == "integer"
    assert contract.max_age == timedelta(days=730)
    assert contract.no_duplicate_content is True
    assert contract.severity == "error" and contract.blocks_when_over_budget


def test_shipped_contracts_lint_clean() -> None:
    assert lint_contract(DEFAULT_CONTRACT_PATH) == []
    assert lint_contract(STRICT_CONTRACT_PATH) == []


def test_content_hash_is_sha256_of_the_file_bytes_and_tracks_edits(tmp_path) -> None:
    copy = tmp_path / "contract.odcs.yaml"
    copy.write_bytes(DEFAULT_CONTRACT_PATH.read_bytes())
    original = load_contract(copy)
    assert original.content_hash == hashlib.sha256(copy.read_bytes()).hexdigest()

    copy.write_bytes(copy.read_bytes() + b"# a comment still changes the config hash\n")
    assert load_contract(copy).content_hash != original.content_hash


def test_contract_without_servers_or_custom_properties_gets_defaults(fixture_contract, tmp_path) -> None:
    text = fixture_contract("minimal_valid").read_text()
    text = text.split("servers:")[0] + "schema:" + text.split("schema:")[1].split("customProperties:")[0]
    path = tmp_path / "bare.odcs.yaml"
    path.write_text(text)

    contract = load_contract(path)

    assert contract.source_path is None
    assert contract.minimum_grade is None and contract.allowed_grades is None
    assert (contract.injection_policy, contract.ai_generated_policy, contract.pii_policy) == (
        "tag",
        "tag",
        "allow",
    )
    assert contract.max_violation_rate == 1.0 and contract.severity == "error"


@pytest.mark.parametrize(
    ("written", "age"),
    [
        ("P365D", timedelta(days=365)),
        ("P2Y", timedelta(days=730)),
        ("P1Y6M", timedelta(days=545)),
        ("P2W", timedelta(days=14)),
        ("PT12H", timedelta(hours=12)),
        ("P1DT1H30M", timedelta(days=1, hours=1, minutes=30)),
    ],
)
def test_max_age_reads_iso_8601_durations(fixture_contract, tmp_path, written, age) -> None:
    path = tmp_path / "fresh.odcs.yaml"
    path.write_text(
        fixture_contract("minimal_valid").read_text() + f"  - property: maxAge\n    value: {written}\n"
    )

    assert load_contract(path).max_age == age


@pytest.mark.parametrize("written", ["P0D", "P", "PT", "1Y", "P1.5Y", "'30'"])
def test_max_age_refuses_what_is_not_a_positive_duration(fixture_contract, tmp_path, written) -> None:
    path = tmp_path / "fresh.odcs.yaml"
    path.write_text(
        fixture_contract("minimal_valid").read_text() + f"  - property: maxAge\n    value: {written}\n"
    )

    problems = lint_contract(path)

    assert [p.field for p in problems] == ["customProperties[maxAge]"]
