"""Changing the scorer re-assesses every document at the next run: the assessment's version is in
each document's config hash. The chunks whose text did not change keep their vectors."""

from dataclasses import replace
from pathlib import Path

import pytest

import corpus_quality.signals as signal_table
import corpus_quality.version as version
from corpus_quality import assessment_version, grading
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc


def _reweighted(name: str, factor: float) -> tuple[signal_table.Signal, ...]:
    return tuple(replace(s, weight=s.weight * factor) if s.name == name else s for s in signal_table.SIGNALS)


@pytest.mark.parametrize(
    "change",
    ["weight", "gating", "signal version", "new signal", "grade threshold", "detector version"],
)
def test_the_assessment_version_follows_every_part_of_the_scorer(
    monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    before = assessment_version()
    assert assessment_version() == before, "the same scorer, the same version"
    if change == "weight":
        monkeypatch.setattr(signal_table, "SIGNALS", _reweighted("staleness", 2.0))
    elif change == "gating":
        first = signal_table.SIGNALS[0]
        monkeypatch.setattr(
            signal_table, "SIGNALS", (replace(first, gating=not first.gating), *signal_table.SIGNALS[1:])
        )
    elif change == "signal version":
        last = signal_table.SIGNALS[-1]
        monkeypatch.setattr(signal_table, "SIGNALS", (*signal_table.SIGNALS[:-1], replace(last, version=2)))
    elif change == "new signal":
        extra = signal_table.Signal("shouting", lambda v: 1.0, weight=0.5)
        monkeypatch.setattr(signal_table, "SIGNALS", (*signal_table.SIGNALS, extra))
    elif change == "grade threshold":
        monkeypatch.setattr(grading, "GATE_FLOOR", grading.GATE_FLOOR + 0.05)
    else:
        monkeypatch.setattr(version, "DETECTOR_VERSIONS", {**version.DETECTOR_VERSIONS, "safety": "2"})
    assert assessment_version() != before


def test_a_new_scorer_reassesses_every_document_and_embeds_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for topic in ("receiving", "returns", "cycle count"):
        write_doc(project / "corpus", f"{topic.replace(' ', '-')}.md", procedure_text(topic))
    settings = load_settings()
    embedder = FakeEmbedder()
    first = run_ingestion(settings, embedder)
    assert first.index_version is not None and len(first.index_version.added) == 3
    embedded_before = len(embedder.embedded_texts)
    hashes_before = {d.config_hash for d in Ledger.of(settings).documents().values()}

    # A signal added to the table: one record, and the corpus follows. This one changes no
    # grade: every document is assessed again and recorded, the index holds the same rows, so
    # no index version is made (and nothing is embedded).
    signals = signal_table.SIGNALS
    extra = signal_table.Signal("always_fine", lambda v: 1.0, weight=0.5)
    monkeypatch.setattr(signal_table, "SIGNALS", (*signals, extra))
    second = run_ingestion(settings, embedder)

    assert sorted(o.doc_id for o in second.outcomes) == sorted(first.index_version.added)
    assert all("always_fine" in o.quality_signals for o in second.outcomes)
    assert second.index_version is None, "same grades, same rows: nothing modified in the index"
    assert len(embedder.embedded_texts) == embedded_before
    hashes_after = {d.config_hash for d in Ledger.of(settings).documents().values()}
    assert hashes_after.isdisjoint(hashes_before)

    third = run_ingestion(settings, embedder)
    assert not third.changed and third.index_version is None, "the same scorer again: nothing to do"

    # A signal re-declared: `ngram_repetition` no longer gates. The procedures repeat their
    # template (that signal is 0.0, which capped them at C); now their weighted score grades
    # them A. The grade column of every row changes: every document is modified, and its rows
    # are rewritten with the vectors they had.
    assert {o.grade for o in first.outcomes} == {"C"}
    relaxed = tuple(replace(s, gating=False) if s.name == "ngram_repetition" else s for s in signals)
    monkeypatch.setattr(signal_table, "SIGNALS", relaxed)
    fourth = run_ingestion(settings, embedder)
    assert {o.grade for o in fourth.outcomes} == {"A"}
    assert fourth.index_version is not None and len(fourth.index_version.modified) == 3
    assert fourth.chunks_embedded == 0 and len(embedder.embedded_texts) == embedded_before
    assert fourth.chunks_reused > 0
