"""A source split into shards on Dagster's multiprocess executor: each shard a step in a process
of its own, one merge per source, one commit. The result is the one a single process (the CLI)
gets from the same files, near-duplicates across shards and the error budget over the whole
source included; a shard killed mid-run leaves nothing committed, and re-executing the run from
its failure finishes it.

Real Dagster runs (`dg.execute_job` with the job rebuilt in each step process), the fake embedder.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import lancedb
import numpy as np
import pytest

from corpus_quality import QUALITY_SIGNALS, Grade, NearDuplicateIndex
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.index.reconciliation import reconcile
from pipelines.run.ingestion import prepare_shard, run_ingestion
from pipelines.run.shards import (
    SourcePlan,
    balanced,
    merge_shards,
    near_duplicates_across_shards,
    plan_source,
)
from pipelines.run.spool import ChunkSpool, staging_dir
from pipelines.settings import Settings, load_settings
from tests.conftest import DEFAULT_CONTRACT, FakeEmbedder, dagster_definitions, procedure_text, write_doc
from tests.pipelines.store_invariants import ledger_records, store_state

TOPICS = (
    "receiving",
    "returns",
    "dock safety",
    "pallet wrapping",
    "forklift checks",
    "cold storage",
    "night shift",
)


def sharded_ingestion_job() -> dg.JobDefinition:
    """The job as each step process rebuilds it (`dg.reconstructable`): CORPUSGOV_CONFIG says
    which project, the fake embedder is bound."""
    return dagster_definitions().resolve_job_def("ingestion")


def write_corpus(corpus: Path) -> None:
    """Files whose verdicts depend on each other across shards: `b-` near-duplicates `a-`, `c-`
    is an exact copy of `a-`, and the three are the largest files, so the plan puts them in three
    different shards; a binary file is rejected."""
    original = procedure_text("receiving", steps=9)
    write_doc(corpus, "a-receiving.md", original)
    write_doc(corpus, "b-receiving-draft.md", original.replace("shift report", "shift log", 1))
    write_doc(corpus, "c-receiving-copy.md", original)
    write_doc(corpus, "d-blob.md", b"\x00\x01\x02binary" * 64)
    for number, topic in enumerate(TOPICS[1:]):
        write_doc(corpus, f"e{number}-{topic.replace(' ', '-')}.md", procedure_text(topic))


def write_project(root: Path, corpus: Path) -> Path:
    config = root / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {root / 'data'}\nsources:\n  - name: docs\n    path: {corpus}\n    contract: {DEFAULT_CONTRACT}\n"
        "shards:\n  max: 3\n  documents_per_shard: 2\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def sharded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, dg.DagsterInstance]]:
    write_corpus(tmp_path / "corpus")
    config = write_project(tmp_path, tmp_path / "corpus")
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(config))
    monkeypatch.delenv("CORPUSGOV_DATA_DIR", raising=False)
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        yield load_settings(config), instance


def one_process_reference(tmp_path: Path) -> Settings:
    """The same files ingested by the CLI's path in this process."""
    root = tmp_path / "reference"
    shutil.copytree(tmp_path / "corpus", root / "corpus")
    settings = load_settings(write_project(root, root / "corpus"))
    run_ingestion(settings, FakeEmbedder())
    return settings


def verdicts(settings: Settings) -> dict[str, tuple[object, ...]]:
    rows = ledger_records(
        settings,
        "SELECT d.doc_id, d.state, d.reasons, d.grade, d.quality_score, d.chunk_count, a.quality_signals, "
        "a.quality_reasons FROM documents d LEFT JOIN assessments a USING (doc_id) ORDER BY d.doc_id",
    )
    return {str(r["doc_id"]): tuple(v for k, v in r.items() if k != "doc_id") for r in rows}


def index_vectors(settings: Settings) -> dict[str, np.ndarray]:
    table = lancedb.connect(settings.lancedb_uri).open_table("chunks").to_arrow()
    ids = table.column("chunk_id").to_pylist()
    return dict(zip(ids, np.asarray(table.column("vector").to_pylist(), dtype=np.float32), strict=True))


def shard_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    started = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
    return {e.step_key for e in started if e.step_key and "_shard[" in e.step_key}


def test_the_plan_balances_the_shards_and_spreads_the_copies(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus")
    settings = load_settings(write_project(tmp_path, tmp_path / "corpus"))
    plan = plan_source(settings, "docs", FakeEmbedder().model_id, "a-run")
    assert (plan.discovered, plan.unchanged, len(plan.changed), plan.shards) == (10, 0, 10, 3)
    shard_of = {Path(path).name: shard for path, shard in zip(plan.changed, plan.assignment, strict=True)}
    copies = ("a-receiving.md", "b-receiving-draft.md", "c-receiving-copy.md")
    assert len({shard_of[name] for name in copies}) == 3, shard_of
    assert sorted(p for s in range(3) for p, _ in plan.shard_files(s)) == list(range(10)), "each file once"
    assert SourcePlan.from_json(json.loads(json.dumps(plan.as_json()))) == plan


def test_shards_are_balanced_by_bytes_largest_first() -> None:
    assert balanced([5, 50, 5, 40, 10], 2) == (0, 0, 1, 1, 1)  # 50+5 | 40+10+5
    assert balanced([], 3) == ()
    assert balanced([7, 7, 7], 1) == (0, 0, 0)
    loads = [0, 0, 0, 0]
    sizes = [(n * 7919) % 1000 + 1 for n in range(400)]
    for size, shard in zip(sizes, balanced(sizes, 4), strict=True):
        loads[shard] += size
    assert max(loads) - min(loads) <= max(sizes), loads


@pytest.mark.dagster
def test_shards_in_their_own_processes_give_what_one_process_gives(
    sharded: tuple[Settings, dg.DagsterInstance], tmp_path: Path
) -> None:
    settings, instance = sharded
    with dg.execute_job(dg.reconstructable(sharded_ingestion_job), instance=instance) as result:
        assert result.success
        run_id = result.run_id
    assert shard_steps(instance, run_id) == {f"sources__docs.docs_shard[{n}]" for n in range(3)}
    reference = one_process_reference(tmp_path)
    got, expected = verdicts(settings), verdicts(reference)
    assert got == expected
    near = {
        str(r["doc_id"]): json.loads(str(r["signals"]))["near_duplicate"]
        for r in ledger_records(settings, "SELECT doc_id, quality_signals AS signals FROM assessments")
    }
    # Each compared with the original in shard 0 (a shard alone would have found no copy: 1.0).
    assert near["docs/b-receiving-draft.md"] < 0.2, "the draft in shard 1"
    assert near["docs/c-receiving-copy.md"] == 0.0, "the exact copy in shard 2"
    assert near["docs/a-receiving.md"] == 1.0, "the first of them in discovery order is the original"
    assert expected["docs/d-blob.md"][0] == "rejected"
    vectors, expected_vectors = index_vectors(settings), index_vectors(reference)
    assert vectors.keys() == expected_vectors.keys()
    assert max(float(np.abs(vectors[c] - expected_vectors[c]).max()) for c in vectors) <= 1e-6
    state = store_state(settings)
    assert len(state["versions"]) == 1, "one commit for the run, whatever the shards"  # type: ignore[arg-type]
    assert reconcile(settings).consistent
    assert not (settings.data_dir / "staging" / run_id).exists(), "the shards' staging removed with the run"


@pytest.mark.dagster
def test_a_killed_shard_commits_nothing_and_the_run_resumes_from_its_failure(
    sharded: tuple[Settings, dg.DagsterInstance], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, instance = sharded
    # Shard 1's process exits as a kill -9 would, once its files are assessed and embedded.
    monkeypatch.setenv("CORPUSGOV_STOP_AT", "prepare.shard_1.assessed")
    monkeypatch.setenv("CORPUSGOV_STOP_MODE", "exit")
    with dg.execute_job(dg.reconstructable(sharded_ingestion_job), instance=instance) as failed:
        assert not failed.success
        failed_run = failed.run_id
    failures = instance.all_logs(failed_run, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert {e.step_key for e in failures} == {"sources__docs.docs_shard[1]"}
    assert (
        not settings.ledger_path.exists() or ledger_records(settings, "SELECT doc_id FROM documents") == []
    ), "nothing of the run is in the ledger"
    lance = Path(settings.lancedb_uri)
    assert not lance.exists() or not any(lance.iterdir()), "no shard wrote the index"

    monkeypatch.delenv("CORPUSGOV_STOP_AT")
    options = dg.ReexecutionOptions.from_failure(failed_run, instance)
    with dg.execute_job(
        dg.reconstructable(sharded_ingestion_job), instance=instance, reexecution_options=options
    ) as resumed:
        assert resumed.success
        rerun_steps = {
            e.step_key for e in instance.all_logs(resumed.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
    assert "sources__docs.docs_shard[1]" in rerun_steps
    assert "sources__docs.docs_shard[0]" not in rerun_steps, "the shards that finished are not redone"
    assert verdicts(settings) == verdicts(one_process_reference(tmp_path))
    assert reconcile(settings).consistent
    assert not (settings.data_dir / "staging" / failed_run).exists(), (
        "the first run's staging removed with it"
    )


def test_a_file_deleted_between_plan_and_shard_is_removed_not_rejected(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus")
    settings = load_settings(write_project(tmp_path, tmp_path / "corpus"))
    run_ingestion(settings, FakeEmbedder())
    edited = tmp_path / "corpus" / "e0-returns.md"
    edited.write_text(procedure_text("returns", steps=8), encoding="utf-8")
    write_doc(tmp_path / "corpus", "f-new.md", procedure_text("yard moves"))
    plan = plan_source(settings, "docs", FakeEmbedder().model_id, "a-run", max_shards=1)
    assert len(plan.changed) == 2
    edited.unlink()
    (tmp_path / "corpus" / "f-new.md").unlink()
    spool = ChunkSpool(staging_dir(settings, "a-run"))
    shard = prepare_shard(settings, plan, 0, spool)
    spool.close()
    assert shard.outcomes == () and set(shard.vanished) == {"docs/e0-returns.md", "docs/f-new.md"}
    part = merge_shards(settings, plan, [shard])
    assert [(o.doc_id, o.state.value, o.reasons) for o in part.outcomes] == [
        ("docs/e0-returns.md", "removed", ("discover.deleted_from_source",))
    ], "as if the walk had come after the deletions: the new file was never seen"
    assert part.discovered == plan.discovered - 2


def test_the_merge_forgets_the_old_text_of_a_document_now_without_words() -> None:
    """One process drops a document's signature when it is assessed without words, before the
    documents after it are compared: the merge must too."""
    original = procedure_text("receiving", steps=9)
    index = NearDuplicateIndex()
    _, signature = index.query_and_add("docs/a.md", original)

    class LedgerOfOne:
        def near_duplicate_rows(self) -> list[dict[str, object]]:
            return index.to_rows()

    def outcome(doc_id: str, signature: bytes | None) -> DocumentOutcome:
        signals = {name: 1.0 for name in QUALITY_SIGNALS}
        return DocumentOutcome(
            doc_id=doc_id, source="docs", path=doc_id, state=DocumentState.INDEXED, reasons=(),
            content_hash="h", mime_type="text/markdown", size=1, config_hash="c", grade=Grade.A,
            quality_score=1.0, quality_signals=signals, near_duplicate_signature=signature,
        )  # fmt: skip

    emptied, copy = outcome("docs/a.md", None), outcome("docs/b.md", signature)
    settled = near_duplicates_across_shards(LedgerOfOne(), [emptied, copy])  # type: ignore[arg-type]
    assert settled[1].near_duplicate_of is None and settled[1].quality_signals["near_duplicate"] == 1.0
    kept = near_duplicates_across_shards(LedgerOfOne(), [copy])  # type: ignore[arg-type]
    assert kept[0].near_duplicate_of == "docs/a.md", "the ledger's text still counts when not emptied"
