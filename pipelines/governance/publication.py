"""Publishing: which committed index version the RAG app reads, and the gate a candidate passes.

Every committed index version is a candidate. RAG apps read the one tagged `serving`, which only a
publication moves (step 8 of the commit protocol, pipelines/index/commit_protocol.py). The gate
compares the newest candidate with the served version, source by source (documents, chunks per
document, median and 95th-percentile chunk length, short chunks, share of the corpus, AI share:
`serving.limits` in corpusgov.yaml), and checks that no eval set's metrics fell because of the
index (`evals.regression_threshold`, the eval set's own change taken out). Under `serving.publish:
auto` a candidate that passes is published at once; one that fails stays a candidate and alerts
(`promotion_blocked`). Under `gated` nothing is published until `corpusgov index promote N`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evals.sets import DEV
from pipelines.embedding.model import Embedder
from pipelines.errors import CorpusgovError
from pipelines.evaluation.reversion import drops_caused_by_the_index
from pipelines.governance.actor import acting_person
from pipelines.index.commit_protocol import publish_version, recover_index, writer_lock
from pipelines.ledger import GateResult, IndexVersion, Ledger, Publication, SourceStats
from pipelines.ledger.evals import StoredResult, eval_results
from pipelines.settings import DriftLimits, Settings


@dataclass(frozen=True)
class DriftCheck:
    """One stat of one source, served version against candidate, with its limit."""

    source: str
    stat: str
    served: float | None
    candidate: float | None
    limit: str  # how far it may move ("×2", "±50%"), or "" when not checked
    passed: bool

    def line(self) -> str:
        return f"{self.source}: {self.stat} {_shown(self.served)} -> {_shown(self.candidate)} (limit {self.limit})"

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "stat": self.stat,
            "served": self.served,
            "candidate": self.candidate,
            "limit": self.limit,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class GateVerdict:
    """The publication gate on one candidate: every drift stat, the eval regressions, notes."""

    index_version: int
    served_version: int | None
    drift: tuple[DriftCheck, ...] = ()
    regressions: tuple[str, ...] = ()  # "<eval set>: <metric> ..." caused by the index
    notes: tuple[str, ...] = ()  # what the gate could not judge, and why

    @property
    def passed(self) -> bool:
        return not self.regressions and all(check.passed for check in self.drift)

    def failures(self) -> list[str]:
        """One line per failed limit or regression, for the alert and the CLI."""
        return [check.line() for check in self.drift if not check.passed] + list(self.regressions)

    def as_json(self) -> dict[str, Any]:
        return {
            "index_version": self.index_version,
            "served_version": self.served_version,
            "passed": self.passed,
            "failures": self.failures(),
            "drift": [check.as_json() for check in self.drift],
            "regressions": list(self.regressions),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PublicationOutcome:
    """What publishing did after a run: the gate on the newest candidate, and the publication."""

    candidate: int | None  # the newest committed version, when newer than the served one
    verdict: GateVerdict | None = None
    published: Publication | None = None
    waiting: str | None = None  # why the candidate is not published, for a person
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "published": self.published.index_version if self.published else None,
            "gate": self.verdict.as_json() if self.verdict else None,
            "waiting": self.waiting,
        }


def evaluate_gate(
    settings: Settings, embedder: Embedder | None, candidate: IndexVersion, served: IndexVersion | None
) -> GateVerdict:
    """The gate on `candidate` against the served version (nothing to compare on a first
    publication). Without an embedder the eval check is left out (it may need to run the new eval
    set on the served index to split a drop)."""
    if served is None:
        return GateVerdict(candidate.index_version, None, notes=("no version is served yet",))
    ledger = Ledger.of(settings)
    drift, notes = _drift(
        settings.serving.limits,
        ledger.version_stats(served.index_version),
        ledger.version_stats(candidate.index_version),
    )
    if embedder is None:
        regressions: list[str] = []
        notes.append("eval regressions not checked (no embedding model here)")
    else:
        regressions, eval_notes = _regressions(settings, embedder, ledger, served, candidate)
        notes.extend(eval_notes)
    return GateVerdict(
        candidate.index_version, served.index_version, tuple(drift), tuple(regressions), tuple(notes)
    )


def publish_candidates(
    settings: Settings, embedder: Embedder | None, wait_seconds: float = 0.0
) -> PublicationOutcome:
    """After a run: gate the newest committed version against the served one, record the verdict,
    and publish it when `serving.publish` is auto and it passed (the first version passes: there
    is nothing to compare it with). Under the writer lock; a no-op when nothing is newer."""
    with writer_lock(settings, wait_seconds=wait_seconds):
        ledger = Ledger.of(settings)
        latest = ledger.latest_index_version()
        served = ledger.serving_version()
        if latest is None or (served is not None and served.index_version >= latest.index_version):
            return PublicationOutcome(candidate=None)
        verdict = evaluate_gate(settings, embedder, latest, served)
        ledger.record_gate(
            GateResult(latest.index_version, datetime.now(UTC), verdict.passed, verdict.as_json())
        )
        if settings.serving.publish == "gated":
            waiting = (
                f"serving.publish is gated: `corpusgov index promote {latest.index_version}` publishes it"
            )
            return PublicationOutcome(latest.index_version, verdict, waiting=waiting)
        if not verdict.passed:
            waiting = "the publication gate held it back: " + "; ".join(verdict.failures())
            return PublicationOutcome(latest.index_version, verdict, waiting=waiting)
        recover_index(settings)
        published = publish_version(settings, latest, "auto", acting_person(), verdict.as_json())
        return PublicationOutcome(latest.index_version, verdict, published=published)


def promote(settings: Settings, number: int, embedder: Embedder | None = None) -> PublicationOutcome:
    """`corpusgov index promote N`: publish a committed version newer than the served one, the
    gate's verdict recorded beside it (a person's decision: a failed gate does not stop it)."""
    with writer_lock(settings):
        recover_index(settings)
        ledger = Ledger.of(settings)
        versions = {v.index_version: v for v in ledger.index_versions()}
        served = ledger.serving_version()
        target = versions.get(number)
        if target is None:
            known = ", ".join(str(n) for n in sorted(versions)) or "none yet"
            raise CorpusgovError(f"There is no index version {number} to promote. Index versions: {known}.")
        if served is not None and number <= served.index_version:
            what = "is already served" if number == served.index_version else "is older than the served one"
            raise CorpusgovError(
                f"Index version {number} {what} (version {served.index_version}): promote a newer "
                "candidate, or use `corpusgov index rollback N` to serve older content again."
            )
        verdict = evaluate_gate(settings, embedder, target, served)
        ledger.record_gate(GateResult(number, datetime.now(UTC), verdict.passed, verdict.as_json()))
        published = publish_version(settings, target, "promote", acting_person(), verdict.as_json())
        return PublicationOutcome(number, verdict, published=published)


def _ratio_check(source: str, stat: str, served: float, candidate: float, ratio: float | None) -> DriftCheck:
    passed = ratio is None or (served > 0 and candidate > 0 and 1 / ratio <= candidate / served <= ratio)
    if ratio is not None and served == 0 and candidate == 0:
        passed = True
    return DriftCheck(
        source, stat, round(served, 4), round(candidate, 4), f"×{ratio:g}" if ratio else "", passed
    )


def _change_check(
    source: str, stat: str, served: float | None, candidate: float | None, change: float | None
) -> DriftCheck:
    if change is None or served is None or candidate is None or served == 0:
        return DriftCheck(source, stat, served, candidate, f"±{change:.0%}" if change else "", True)
    passed = abs(candidate - served) / served <= change
    return DriftCheck(source, stat, round(served, 4), round(candidate, 4), f"±{change:.0%}", passed)


def _points_check(
    source: str, stat: str, served: float, candidate: float, points: float | None, rise_only: bool
) -> DriftCheck:
    moved = candidate - served if rise_only else abs(candidate - served)
    passed = points is None or moved <= points
    sign = "+" if rise_only else "±"
    return DriftCheck(
        source,
        stat,
        round(served, 4),
        round(candidate, 4),
        f"{sign}{points:g}" if points is not None else "",
        passed,
    )


def _drift(
    limits: DriftLimits, served: list[SourceStats], candidate: list[SourceStats]
) -> tuple[list[DriftCheck], list[str]]:
    """Every stat of every source present in both versions, each against its limit."""
    notes: list[str] = []
    if not served:
        return [], ["no drift stats for the served version (it predates them): drift not checked"]
    before = {s.source: s for s in served}
    after = {s.source: s for s in candidate}
    total_before = sum(s.documents for s in served) or 1
    total_after = sum(s.documents for s in candidate) or 1
    notes += [f"{name}: new source, nothing to compare" for name in sorted(after.keys() - before.keys())]
    notes += [f"{name}: no longer indexed" for name in sorted(before.keys() - after.keys())]
    checks: list[DriftCheck] = []
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        judged = min(old.chunks, new.chunks) >= limits.min_chunks
        if not judged:
            notes.append(f"{name}: under {limits.min_chunks} chunks, limits not applied")
        found = [
            _change_check(name, "documents", old.documents, new.documents, limits.documents_change),
            _ratio_check(
                name,
                "chunks_per_document",
                old.chunks_per_document,
                new.chunks_per_document,
                limits.chunks_per_document_ratio,
            ),
            _change_check(
                name, "median_chars", old.median_chars, new.median_chars, limits.median_chars_change
            ),
            _change_check(name, "p95_chars", old.p95_chars, new.p95_chars, limits.p95_chars_change),
            _points_check(
                name,
                "short_chunk_rate",
                old.short_chunk_rate,
                new.short_chunk_rate,
                limits.short_chunk_rate_increase,
                rise_only=True,
            ),
            _points_check(
                name,
                "corpus_share",
                old.documents / total_before,
                new.documents / total_after,
                limits.corpus_share_change,
                rise_only=False,
            ),
            _points_check(
                name, "ai_share", old.ai_share, new.ai_share, limits.ai_share_increase, rise_only=True
            ),
        ]
        checks += (
            found
            if judged
            else [DriftCheck(c.source, c.stat, c.served, c.candidate, c.limit, True) for c in found]
        )
    return checks, notes


def _regressions(
    settings: Settings, embedder: Embedder, ledger: Ledger, served: IndexVersion, candidate: IndexVersion
) -> tuple[list[str], list[str]]:
    """Each eval set's watched metrics from its baseline on the served version to its baseline
    on the candidate: a fall the index caused beyond the threshold fails the gate."""
    regressions: list[str] = []
    notes: list[str] = []
    for config in settings.evals.sets:
        results = eval_results(ledger, config.name, DEV)
        after = _baseline_on(results, candidate.index_version)
        # What the served version scored, even when a later re-baseline superseded it: a large
        # change (a new chunker) supersedes baselines, and is exactly what the gate must judge.
        # The decomposition takes the eval set's own change out.
        before = _latest_on(results, served.index_version)
        if after is None:
            notes.append(f"{config.name}: no baseline on the candidate yet, eval not checked")
        elif before is None:
            notes.append(f"{config.name}: no result on the served version, eval not checked")
        else:
            regressions += [
                f"{config.name}: {line}"
                for line in drops_caused_by_the_index(settings, embedder, before, after)
            ]
    return regressions, notes


def _baseline_on(results: list[StoredResult], index_version: int) -> StoredResult | None:
    return next(
        (r for r in results if r.index_version == index_version and r.superseded_reason is None), None
    )


def _latest_on(results: list[StoredResult], index_version: int) -> StoredResult | None:
    """The newest result measured on `index_version` (`results` come newest first)."""
    return next((r for r in results if r.index_version == index_version), None)


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"
