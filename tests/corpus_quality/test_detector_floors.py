"""The assessment detectors meet their floors on the labelled fixture set (tests/fixtures/assessment).

Scores come from bench/assessment.py, which runs every fixture through the same calls the
ingestion pipeline makes; the bench prints the full table, these tests hold the floors:
declared metadata and C2PA exact; the self-output registry finds verbatim and lightly edited
re-ingestions (paraphrases are not required) and never a human control; injection and hidden
text found in 9 of 10 cases with at most 5% of controls flagged; each kind of personal data
found in 95% of the labelled values.
"""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "assessment"
GROUPS = (
    "human_control",
    "ai_declared",
    "registry_reingested",
    "injection",
    "hidden_text",
    "pii",
    "near_duplicate",
)


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_assessment", REPO / "bench" / "assessment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def labels() -> list[dict]:
    return bench.load_labels(FIXTURES)


@pytest.fixture(scope="module")
def scores() -> dict:
    return bench.compute_scores(bench.assess_fixture_set(FIXTURES))


def _misses(score) -> str:
    return f"missed {score.false_negatives}, wrongly flagged {score.false_positives}"


def test_fixture_set_has_every_group_and_at_least_80_documents(labels: list[dict]) -> None:
    groups = {row["group"] for row in labels}
    assert len(labels) >= 80
    assert set(GROUPS) <= groups
    assert sum(row["group"] == "human_control" for row in labels) >= 25
    kinds = [row["registry"] for row in labels]
    assert (kinds.count("verbatim"), kinds.count("lightly_edited"), kinds.count("paraphrase")) >= (4, 4, 3)
    assert {row["format"] for row in labels if row["declared_ai"]} >= {"html", "md", "pdf", "docx"}
    for row in labels:
        assert (FIXTURES / "docs" / row["path"]).is_file(), row["path"]


def test_declared_metadata_is_exact(scores: dict) -> None:
    score = scores["declared_metadata"]
    assert (score.precision, score.recall) == (1.0, 1.0), _misses(score)


def test_c2pa_is_exact(labels: list[dict], scores: dict) -> None:
    if not any(row["c2pa"] for row in labels):
        pytest.skip("no C2PA fixtures in the set")
    score = scores["c2pa"]
    assert (score.precision, score.recall) == (1.0, 1.0), _misses(score)


def test_registry_finds_verbatim_and_lightly_edited_reingestion_and_no_control(scores: dict) -> None:
    score = scores["registry"]
    assert score.control_fp == 0, _misses(score)
    assert score.recall is not None and score.recall >= 0.95, f"recall {score.recall:.3f}: {_misses(score)}"


@pytest.mark.parametrize("detector", ["injection", "hidden_text"])
def test_safety_detector_recall_and_control_false_positive_rate(scores: dict, detector: str) -> None:
    score = scores[detector]
    assert score.recall is not None and score.recall >= 0.9, f"recall {score.recall:.3f}: {_misses(score)}"
    assert score.control_fp_rate is not None and score.control_fp_rate <= 0.05, (
        f"{score.control_fp}/{score.controls} controls flagged: {score.false_positives}"
    )


def test_pii_recall_per_labelled_kind(labels: list[dict], scores: dict) -> None:
    kinds = sorted({kind for row in labels for kind in row["pii_kinds"]})
    assert {"email", "phone", "card", "iban"} <= set(kinds)
    below = {
        kind: (round(scores[f"pii_{kind}_values"].recall, 3), scores[f"pii_{kind}_values"].false_negatives)
        for kind in kinds
        if scores[f"pii_{kind}_values"].recall < 0.95
    }
    assert not below, f"PII kinds under 0.95 recall: {below}"


def test_make_fixtures_reproduces_the_committed_set(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_assessment_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])

    assert (tmp_path / "labels.jsonl").read_text() == (FIXTURES / "labels.jsonl").read_text()
    assert (tmp_path / "registered_outputs.jsonl").read_text() == (
        FIXTURES / "registered_outputs.jsonl"
    ).read_text()
    for line in (FIXTURES / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["group"] == "c2pa":
            continue  # ECDSA signatures and manifest ids are random: same labels, other bytes
        written = (tmp_path / "docs" / row["path"]).read_bytes()
        assert written == (FIXTURES / "docs" / row["path"]).read_bytes(), row["path"]
