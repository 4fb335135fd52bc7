"""`corpusgov doctor`: check the invariants of a data dir, and with `--repair` restore them.

The invariants a data dir must hold after any run, interrupted or not:
- the ledger opens, every row and key index of every table reads (a run reads only part of the
  file: a damaged one can answer some reads and fail every ingest; pipelines/ledger/health.py),
  and no write is left half-done (`commit_intents` is empty);
- the LanceDB table opens, every data file of its latest version reads, and its latest version is
  the ledger's latest index version;
- every `index-v<N>` tag names an index version of the ledger and points at its LanceDB version;
- the `serving` tag names the ledger's last published index version, and nothing else;
- the ledger's chunk ids and the index's are the same set, with no id twice;
- conservation: every document is in exactly one of indexed / quarantined / rejected / removed,
  and only indexed documents have chunks.

Repair, under the writer lock, from the mildest step that works:
1. recovery (pipelines/index/commit_protocol.py): roll LanceDB back to the ledger's last committed run;
2. if the index is damaged (files gone, behind the ledger, ids disagreeing): the table is set aside
   under `<data_dir>/damaged/<time>/` and rebuilt from the sources, keeping the ledger's history;
3. if the ledger itself is damaged: the ledger and the table are both set aside and rebuilt
   from the sources; eval history, quarantine releases and registered outputs are in the set-aside
   ledger (readable with `duckdb` if it is only partly damaged), not in the new one, and the repair
   names each such table that holds rows, and each that cannot be read there either.

An empty ledger file (a first run that met a full disk) holds nothing: it counts as no ledger,
and the next run replaces it (pipelines/ledger/__init__.py).
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.document.outcome import DocumentState
from pipelines.embedding.model import Embedder
from pipelines.errors import IndexDamagedError, IndexStateError, first_line
from pipelines.governance.actor import acting_person
from pipelines.index.commit_protocol import (
    SERVING_TAG,
    publish_version,
    recover_index,
    table_exists,
    verify_contents,
    writer_lock,
)
from pipelines.index.table import TABLE_NAME, ChunkIndex
from pipelines.ledger import IndexVersion, Ledger, never_initialised
from pipelines.ledger.health import chunk_count_mismatches, orphan_chunk_count, survey_ledger
from pipelines.run.ingestion import IngestionReport, ProgressReporter, ingest_holding_lock
from pipelines.settings import Settings
from pipelines.storage import folder_exists, is_remote, join, move_folder


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail}


# Puts one finding on the report.
AddFinding = Callable[[Finding], None]


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    set_aside: str | None = None
    rebuild: IngestionReport | None = None

    @property
    def healthy(self) -> bool:
        return all(f.ok for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "findings": [f.as_json() for f in self.findings],
            "repairs": self.repairs,
            "set_aside": self.set_aside,
            "rebuilt_index_version": (
                self.rebuild.index_version.index_version
                if self.rebuild and self.rebuild.index_version
                else None
            ),
        }


def examine_data_dir(settings: Settings) -> DoctorReport:
    """Check every invariant without changing anything."""
    report = DoctorReport()
    add = report.findings.append
    ledger = Ledger.of(settings, busy_retry_seconds=5)
    if not ledger.exists():
        empty = ledger.url is None and never_initialised(ledger.path)
        add(
            Finding(
                "ledger",
                True,
                "an empty ledger file a first run left (the disk was full?): the next ingest replaces it"
                if empty
                else "no ledger yet: nothing ingested",
            )
        )
        exists = table_exists(settings)
        add(Finding("index", not exists, "an index table without a ledger" if exists else "no index yet"))
        return report
    survey = survey_ledger(ledger)
    if survey.damaged:
        add(Finding("ledger", False, f"damaged: {survey.describe()}"))
        return report
    try:
        versions = ledger.index_versions()
        states = ledger.state_counts()
        intent = ledger.commit_intent()
    except (IndexDamagedError, IndexStateError) as err:
        add(Finding("ledger", False, str(err)))
        return report
    add(
        Finding(
            "ledger",
            True,
            f"{sum(states.values())} documents, {len(versions)} index versions; {survey.describe()}",
        )
    )
    add(
        Finding(
            "interrupted write",
            intent is None,
            "none"
            if intent is None
            else f"a {intent.kind} started at {intent.started_at:%Y-%m-%d %H:%M:%S} "
            "did not finish; the next run (or --repair) rolls it back",
        )
    )
    unfinished = [e for e in ledger.erasures() if e.completed_at is None]
    add(
        Finding(
            "erasures",
            not unfinished,
            f"{len(ledger.erasures())} done"
            if not unfinished
            else "not finished: "
            + ", ".join(f"{e.doc_id} ({e.erasure_id}, {e.erased_at:%Y-%m-%d %H:%M})" for e in unfinished)
            + "; run the same `corpusgov erase` again to finish (its history may still hold the text)",
        )
    )
    _check_conservation(ledger, states, add)
    _check_index(settings, ledger, versions, add)
    return report


def _check_index(settings: Settings, ledger: Ledger, versions: list[IndexVersion], add: AddFinding) -> None:
    """The LanceDB table against the ledger: its version, its tags and its chunk ids."""
    latest = versions[0] if versions else None
    if latest is None:
        exists = table_exists(settings)
        add(Finding("index", not exists, "an index table no run committed" if exists else "no index yet"))
        return
    if not table_exists(settings) and not ledger.chunk_ids():
        add(Finding("index", True, "empty: the next ingest builds it"))
        return
    try:
        table = ChunkIndex(settings.lancedb_uri).table()
    except (OSError, RuntimeError, ValueError) as err:
        add(Finding("index", False, f"cannot be opened: {first_line(err)}"))
        return
    if table is None:
        add(
            Finding(
                "index",
                False,
                f"the table is missing; the ledger records index version {latest.index_version}",
            )
        )
        return
    current = int(table.version)
    add(
        Finding(
            "index version",
            current == latest.lance_version,
            f"LanceDB version {current}, ledger index version {latest.index_version} at LanceDB "
            f"version {latest.lance_version}",
        )
    )
    tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
    known = {v.tag: v.lance_version for v in versions}
    wrong = sorted(n for n, v in tags.items() if n.startswith("index-v") and known.get(n) != v)
    missing_latest = latest.tag not in tags
    add(
        Finding(
            "tags",
            not wrong and not missing_latest,
            "every index-v tag matches the ledger"
            if not wrong and not missing_latest
            else f"unknown or misplaced: {', '.join(wrong) or 'none'}; latest tag {latest.tag} "
            f"{'missing' if missing_latest else 'present'}",
        )
    )
    serving = ledger.serving_version()
    tagged = tags.get(SERVING_TAG)
    if serving is None:
        add(
            Finding(
                "serving",
                tagged is None,
                "nothing published yet"
                if tagged is None
                else "a serving tag no publication in the ledger set",
            )
        )
    else:
        add(
            Finding(
                "serving",
                tagged == serving.lance_version and tags.get(serving.tag) == serving.lance_version,
                f"the serving tag names index version {serving.index_version} (LanceDB version "
                f"{serving.lance_version}), as the ledger's last publication does"
                if tagged == serving.lance_version
                else f"the ledger publishes index version {serving.index_version} (LanceDB version "
                f"{serving.lance_version}), the serving tag names "
                f"{'nothing' if tagged is None else f'LanceDB version {tagged}'}",
            )
        )
    try:
        verify_contents(settings, table, ledger)
        add(
            Finding(
                "chunks", True, f"{len(ledger.chunk_ids())} chunks, the same ids in the ledger and the index"
            )
        )
    except IndexDamagedError as err:
        add(Finding("chunks", False, str(err)))


def repair_data_dir(
    settings: Settings, embedder: Embedder, on_progress: ProgressReporter | None = None
) -> DoctorReport:
    """Restore the invariants (see the module docstring), then examine the data dir again."""
    repairs: list[str] = []
    set_aside: str | None = None
    rebuild: IngestionReport | None = None
    with writer_lock(settings):
        ledger = Ledger.of(settings, busy_retry_seconds=5)
        survey = survey_ledger(ledger) if ledger.exists() else None
        if survey is not None and survey.damaged:
            set_aside = _set_aside(settings, ledger=True)
            repairs.append(
                f"the ledger is damaged ({survey.describe()}): it and the index were moved to "
                f"{set_aside}; rebuilding both from the sources. Not rebuilt: {survey.not_rebuilt()}"
            )
        else:
            try:
                repairs.extend(recover_index(settings).actions)
            except IndexDamagedError as err:
                set_aside = _set_aside(settings, ledger=False)
                count = Ledger.of(settings).forget_index_contents()
                repairs.append(
                    f"{err} The index was moved to {set_aside}; re-indexing {count} documents "
                    "from the sources"
                )
        if set_aside is not None:
            rebuild = ingest_holding_lock(settings, embedder, None, on_progress)
            if rebuild.index_version is not None:
                # The rebuilt index replaces the lost one for the RAG app at once: it holds what
                # the sources and the contracts hold now.
                publish_version(settings, rebuild.index_version, "rebuild", acting_person(), {})
                repairs.append(f"published the rebuilt index version {rebuild.index_version.index_version}")
    report = examine_data_dir(settings)
    report.repairs = repairs or ["nothing to repair"]
    report.set_aside = set_aside
    report.rebuild = rebuild
    return report


def _check_conservation(ledger: Ledger, states: dict[str, int], add: AddFinding) -> None:
    known = {s.value for s in DocumentState}
    unknown = {s: n for s, n in states.items() if s not in known and n}
    rows = chunk_count_mismatches(ledger)
    orphans = orphan_chunk_count(ledger)
    ok = not unknown and not rows and not orphans
    detail = ", ".join(f"{n} {s}" for s, n in states.items() if n) or "no documents"
    if unknown:
        detail += f"; unknown states {unknown}"
    if rows:
        detail += "; chunks disagree with the state of " + ", ".join(rows)
    if orphans:
        detail += f"; {orphans} chunks of no document"
    add(Finding("conservation", ok, detail))


def _set_aside(settings: Settings, ledger: bool) -> str:
    """Move the damaged stores out of the way, never delete them: a person may want them.
    Returns where they went: a folder of the data dir, and for an index in object storage, the
    prefix of its bucket it was moved to."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    where = ""
    folder = settings.data_dir / "damaged" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    table = join(settings.lancedb_uri, f"{TABLE_NAME}.lance")
    if folder_exists(table):
        # An index in object storage is set aside in its own bucket, beside the table.
        beside = join(settings.lancedb_uri, "damaged", stamp) if is_remote(table) else str(folder)
        move_folder(table, join(beside, f"{TABLE_NAME}.lance"))
        if is_remote(table):
            where = f"{folder} (the index: {beside})"
    if ledger:
        for path in (
            settings.ledger_path,
            settings.ledger_path.with_name(settings.ledger_path.name + ".wal"),
        ):
            if path.exists():
                shutil.move(str(path), str(folder / path.name))
    return where or str(folder)
