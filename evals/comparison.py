"""The comparability guard: results are compared only when measured under the same key.

A result's key is (eval set version hash, index version, config hash). Two results with different
keys measure different things, so `compare_results` refuses them. When the index changed, run the
new eval set on the old index too and `decompose` splits the delta into the part caused by the
eval set changing (items remapped, excluded, contested) and the part caused by the index itself;
a drop that lives entirely in the first part is a phantom regression.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from evals.errors import IncomparableResultsError
from evals.metrics import GenerationMetrics, RetrievalReport
from evals.resolution import EvalSetVersion, changed_share

_KEY_PARTS: tuple[tuple[str, str], ...] = (
    ("eval_set_version_hash", "eval set version"),
    ("index_version", "index version"),
    ("config_hash", "config hash"),
)


@dataclass(frozen=True)
class ResultKey:
    """What a result was measured on."""

    eval_set_version_hash: str
    index_version: int
    config_hash: str


@dataclass(frozen=True)
class EvalResult:
    """Metric means measured under one key; higher is better for every metric."""

    key: ResultKey
    metrics: Mapping[str, float]
    generation: GenerationMetrics = field(default_factory=GenerationMetrics.not_measured)

    @classmethod
    def from_report(
        cls, key: ResultKey, report: RetrievalReport, generation: GenerationMetrics | None = None
    ) -> "EvalResult":
        """A result holding a retrieval report's means."""
        return cls(
            key=key, metrics=dict(report.means), generation=generation or GenerationMetrics.not_measured()
        )


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
    mismatched = [
        label
        for name, label in _KEY_PARTS[1:]
        if getattr(old_result.key, name) != getattr(new_on_old_index.key, name)
    ]
    if mismatched:
        raise IncomparableResultsError(
            tuple(name for name, label in _KEY_PARTS if label in mismatched),
            f"cannot decompose: the new eval set was not measured on the old index ({', '.join(mismatched)} "
            f"differ: v{new_on_old_index.key.index_version}/{new_on_old_index.key.config_hash[:12]} vs "
            f"v{old_result.key.index_version}/{old_result.key.config_hash[:12]}); re-run the new eval set "
            f"on index v{old_result.key.index_version} (LanceDB checkout) and decompose again",
        )
    shared = [n for n in old_result.metrics if n in new_on_old_index.metrics and n in new_result.metrics]
    return Decomposition(
        old_key=old_result.key,
        new_on_old_index_key=new_on_old_index.key,
        new_key=new_result.key,
        deltas={
            n: MetricDelta(n, old_result.metrics[n], new_on_old_index.metrics[n], new_result.metrics[n])
            for n in shared
        },
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
    if "config_hash" in differing:
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
