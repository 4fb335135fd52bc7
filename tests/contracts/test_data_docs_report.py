from datetime import UTC, datetime

import pandas
import pytest

from contracts import STRICT_CONTRACT_PATH, DocumentFrameError, load_contract
from contracts.data_docs import build_data_docs
from contracts.enforcement import enforce_contract

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def documents() -> pandas.DataFrame:
    return pandas.DataFrame({
        "doc_id": ["fine", "short-and-copied"], "text_chars": [5000, 12], "mime_type": "text/markdown",
        "language": "en", "grade": "B", "title": "T", "author": "A", "modified": "2025-01-01",
        "duplicate_of": [None, "fine"],
    })


def test_data_docs_site_reports_the_contract_suite_offline(tmp_path) -> None:
    # tests/conftest.py fails any non-loopback connection, so this also proves the build is offline.
    contract = load_contract(STRICT_CONTRACT_PATH)

    index = build_data_docs(contract, documents(), tmp_path / "gx", now=NOW)

    assert index == tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file()
    html = index.read_text(encoding="utf-8")
    assert f"{contract.id}@{contract.version}" in html
    assert "analytics_enabled: false" in (tmp_path / "gx" / "great_expectations.yml").read_text()


def test_data_docs_can_be_rebuilt_in_the_same_folder_and_leave_enforcement_alone(tmp_path) -> None:
    contract = load_contract(STRICT_CONTRACT_PATH)
    build_data_docs(contract, documents(), tmp_path / "gx", now=NOW)

    index = build_data_docs(contract, documents(), tmp_path / "gx", now=NOW)
    files_before = sorted(tmp_path.rglob("*"))
    verdict = enforce_contract(contract, documents(), now=NOW)

    assert index.is_file()
    # The normal path still validates in memory and writes nothing into the Data Docs project.
    assert sorted(tmp_path.rglob("*")) == files_before
    assert verdict.reasons == {"short-and-copied": ("contract.duplicate_content", "contract.text_too_short")}


def test_data_docs_refuse_a_malformed_frame_like_enforcement(tmp_path) -> None:
    with pytest.raises(DocumentFrameError):
        build_data_docs(load_contract(STRICT_CONTRACT_PATH), pandas.DataFrame({"text_chars": [1]}), tmp_path / "gx")
