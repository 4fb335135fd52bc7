"""The comparability guard: results are compared only when measured under the same key.

A result's key is (eval set version hash, index version, config hash, judge, answers fingerprint).
Two results with different keys measure different things, so `compare_results` refuses them. When the index changed, run the
new eval set on the old index too and `decompose` splits the delta into the part caused by the
eval set changing (items remapped, excluded, contested) and the part caused by the index itself;
a drop that lives entirely in the first part is a phantom regression. A change of judge (model,
server or ragas' prompts) or of the app's answers cannot be split off that way: results under
different ones are refused; a decomposition splits their retrieval metrics and refuses their
generation metrics.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from evals.errors import IncomparableResultsError
from evals.generation import GENERATION_METRICS
from evals.metrics import RetrievalReport
from evals.resolution import EvalSetVersion, changed_share

_KEY_PARTS: tuple[tuple[str, str], ...] = (
    ("eval_set_version_hash", "eval set version"),
    ("index_version", "index version"),
    ("config_hash", "config hash"),
    ("judge", "judge"),
    ("answers_fingerprint", "answers"),
)
# What all three results of a decomposition must share: it splits an eval set change from an
# index change (the index's build configuration included), and nothing else.
_HELD_BY_DECOMPOSITION = ("judge", "answers_fingerprint")


@dataclass(frozen=True)
class ResultKey:
    """What a result was measured on."""

    eval_set_version_hash: str
    index_version: int
    config_hash: str
    # Empty without an LLM judge (retrieval metrics only), or without app answers.
    judge: str = ""
    answers_fingerprint: str = ""


@dataclass(frozen=True)
class EvalResult:
    """Metric means measured under one key, retrieval and generation alike (evals/generation.py's
    means join the retrieval ones); higher is better for every metric."""

    key: ResultKey
    metrics: Mapping[str, float]

    @classmethod
    def from_report(cls, key: ResultKey, report: RetrievalReport) -> "EvalResult":
        """A result holding a retrieval report's means."""
        return cls(key=key, metrics=dict(report.means))


@dataclass(frozen=True)
class Comparison:
    """Two results under the same key; `deltas` is after − before for each shared metric."""

    key: ResultKey
    before: Mapping[str, float]
    after: Mapping[str, float]
    deltas: Mapping[str, float]


@dataclass(frozen=True)
class MetricDelta:
    """One metric's change from the old result to the new, split in two parts that add up."""

    metric: str
    old: float
    new_on_old_index: float
    new: float

    @property
    def eval_set_changed(self) -> float:
        """New eval set on the old index − old result."""
        return self.new_on_old_index - self.old

    @property
    def index_changed(self) -> float:
        """New result − new eval set on the old index."""
        return self.new - self.new_on_old_index

    @property
    def total(self) -> float:
        """New result − old result."""
        return self.new - self.old


@dataclass(frozen=True)
class Decomposition:
    """Each shared metric's delta split into "eval set changed" and "index changed"."""

    old_key: ResultKey
    new_on_old_index_key: ResultKey
    new_key: ResultKey
    deltas: Mapping[str, MetricDelta]
    # Metrics that cannot be split (a judge or answers change), with the reason.
    refused: Mapping[str, str] = field(default_factory=dict)


def differing_key_parts(a: ResultKey, b: ResultKey) -> tuple[str, ...]:
    """Names of the key fields on which `a` and `b` differ."""
    return tuple(name for name, _ in _KEY_PARTS if getattr(a, name) != getattr(b, name))


def compare_results(a: EvalResult, b: EvalResult) -> Comparison:
    """b − a per shared metric; raises IncomparableResultsError unless both keys match exactly."""
    differing = differing_key_parts(a.key, b.key)
    if differing:
        raise IncomparableResultsError(differing, _refusal(a.key, b.key, differing))
    shared = [name for name in a.metrics if name in b.metrics]
    if not shared:
        raise IncomparableResultsError(
            ("metrics",),
            f"cannot compare eval results: they share no metric ({', '.join(sorted(a.metrics))} vs "
            f"{', '.join(sorted(b.metrics))}); re-run both with the same k",
        )
    return Comparison(
        key=a.key,
        before={n: a.metrics[n] for n in shared},
        after={n: b.metrics[n] for n in shared},
        deltas={n: b.metrics[n] - a.metrics[n] for n in shared},
    )


def decompose(old_result: EvalResult, new_on_old_index: EvalResult, new_result: EvalResult) -> Decomposition:
    """Split new − old into (new eval set on old index − old) + (new − new eval set on old index).

    `new_on_old_index` must be measured on the old result's index version and config.
    """
    labels = dict(_KEY_PARTS)
    held = [
        name
        for name in _HELD_BY_DECOMPOSITION
        if len({getattr(r.key, name) for r in (old_result, new_on_old_index, new_result)}) > 1
    ]
    bridge = [
        name
        for name in ("index_version", "config_hash")
        if getattr(old_result.key, name) != getattr(new_on_old_index.key, name)
    ]
    if bridge:
        raise IncomparableResultsError(
            tuple(bridge),
            f"cannot decompose: the new eval set was not measured on the old index "
            f"({', '.join(labels[n] for n in bridge)} differ: v{new_on_old_index.key.index_version}/"
            f"{new_on_old_index.key.config_hash[:12]} vs v{old_result.key.index_version}/"
            f"{old_result.key.config_hash[:12]}); re-run the new eval set on index "
            f"v{old_result.key.index_version} (LanceDB checkout) and decompose again",
        )
    shared = [n for n in old_result.metrics if n in new_on_old_index.metrics and n in new_result.metrics]
    refused: dict[str, str] = {}
    if held:
        # Retrieval metrics do not depend on the judge or the answers: those still split.
        refused = {
            n: f"the {' and the '.join(labels[h] for h in held)} changed between the results; "
            "re-baseline both with the same evals.judge and evals.answers"
            for n in shared
            if n in GENERATION_METRICS
        }
    for n in old_result.metrics:
        if n in new_result.metrics and n not in new_on_old_index.metrics:
            refused[n] = "not measured when the new eval set ran on the old index"
    return Decomposition(
        old_key=old_result.key,
        new_on_old_index_key=new_on_old_index.key,
        new_key=new_result.key,
        deltas={
            n: MetricDelta(n, old_result.metrics[n], new_on_old_index.metrics[n], new_result.metrics[n])
            for n in shared
            if n not in refused
        },
        refused=refused,
    )


def detect_regression(a: EvalResult, b: EvalResult, threshold: float) -> list[str]:
    """One line per metric that fell by more than `threshold` from a to b (comparable results only)."""
    comparison = compare_results(a, b)
    return [
        f"{name}: {comparison.before[name]:.3f} -> {comparison.after[name]:.3f} ({delta:+.3f})"
        for name, delta in comparison.deltas.items()
        if delta < -threshold
    ]


def should_supersede(version: EvalSetVersion, share: float = 0.2) -> bool:
    """Whether so many items changed status (at least `share`) that the baseline must be re-run."""
    return changed_share(version) >= share


def _refusal(a: ResultKey, b: ResultKey, differing: tuple[str, ...]) -> str:
    labels = dict(_KEY_PARTS)
    parts = ", ".join(
        f"{labels[name]} differs ({_show(getattr(a, name))} vs {_show(getattr(b, name))})"
        for name in differing
    )
    if "judge" in differing or "answers_fingerprint" in differing:
        advice = (
            "generation metrics were judged by another LLM judge (model, server or ragas' prompts) or "
            "on other app answers, so no decomposition makes them comparable: re-baseline both with "
            "the same evals.judge and evals.answers (`corpusgov evals rebaseline`)"
        )
    elif "config_hash" in differing:
        advice = (
            "the index was built with a different parser, chunker, embedding model or contract, so no "
            "decomposition makes the numbers comparable: re-baseline by re-running the old result's eval "
            "set on the new index"
        )
    elif "index_version" in differing:
        advice = (
            f"run with --decompose to measure the new eval set on index v{a.index_version} and split the "
            f"delta into 'eval set changed' and 'index changed', or re-baseline on index v{b.index_version}"
        )
    else:
        advice = "the eval set was re-versioned: re-baseline by re-running the baseline with the new eval set version"
    return f"cannot compare eval results: {parts}. To compare, {advice}."


def _show(value: object) -> str:
    return f"v{value}" if isinstance(value, int) else str(value)[:12]
