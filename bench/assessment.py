"""Assessment detectors scored on the labelled fixture set: precision and recall per detector.

Runs every document of tests/fixtures/assessment/ through parse and the assess calls exactly as
pipelines.document.assessment.process_file makes them (declared metadata, C2PA, the self-output registry
loaded from registered_outputs.jsonl, near-duplicates against the documents assessed before it,
the heuristic AI-text score, provenance, and the safety scan with raw bytes for HTML), then
compares each detector's answer with labels.jsonl. Prints, per detector, TP / FP / FN / TN,
precision, recall and the false-positive rate on the human-written controls; the heuristic
AI-text detector's rate on controls (reported, never a floor); the misses by fixture; and the
mean assessment time per document. tests/corpus_quality/test_detector_floors.py asserts the
floors on the same numbers through ``compute_scores()``.

Then the personal-data set, tests/fixtures/pii/ (labels.json: for each document the values of
each kind it holds, hard negatives holding none): every kind a `piiPolicy: redact` contract looks
for (names with the NER model), found in the parsed text as the extraction worker finds it, and
scored per labelled value: a value is found when a match of its kind overlaps it; a match that
overlaps no labelled value of its kind is a false positive. Prints TP / FP / FN, precision and
recall per kind, the misses, and the time per document with and without the model.
tests/corpus_quality/test_pii_detection_floors.py asserts the targets through ``compute_pii_scores()``.

    python bench/assessment.py [--fixtures DIR] [--pii-fixtures DIR]
"""

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pipelines  # noqa: E402,F401 - offline switches first
from corpus_quality import detect_language, label_provenance, read_declared_metadata, scan_safety  # noqa: E402
from corpus_quality.ai_text_heuristic import score_ai_text  # noqa: E402
from corpus_quality.c2pa_evidence import read_c2pa  # noqa: E402
from corpus_quality.near_duplicates import NearDuplicateIndex  # noqa: E402
from corpus_quality.registry import SelfOutputRegistry, load_outputs_jsonl  # noqa: E402
from corpus_quality.safety import BASIC_KINDS, PII_KINDS, SAFETY_CODES, find_pii  # noqa: E402
from corpus_quality.vocabulary import ProvenanceLabel  # noqa: E402
from pipelines.document.discovery import HTML, PDF, sniff_mime_type  # noqa: E402
from pipelines.document.parsing import parse_document  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "assessment"
PII_FIXTURES = REPO / "tests" / "fixtures" / "pii"
CONTROL_GROUP = "human_control"
AI_LABELS = frozenset({ProvenanceLabel.AI_GENERATED, ProvenanceLabel.AI_ASSISTED})
# Every safety code but injection and PII: the hidden-text detectors.
HIDDEN_CODES = frozenset(
    c for c in SAFETY_CODES if c != "safety.injection_like" and not c.startswith("safety.pii_")
)
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z@+]")


@dataclass
class DocumentResult:
    """What each detector said about one fixture, next to its labels."""

    labels: dict[str, Any]
    declared_ai: bool
    c2pa_label: str | None  # the label of a verified manifest, else None
    registry_output: str | None
    registry_kind: str | None
    safety_codes: frozenset[str]
    pii_found: list[tuple[str, str]]
    near_duplicate_of: str | None
    heuristic_score: float
    heuristic_suggests_ai: bool
    provenance_label: str
    parse_ms: float
    assess_ms: float

    @property
    def path(self) -> str:
        return self.labels["path"]

    @property
    def is_control(self) -> bool:
        return self.labels["group"] == CONTROL_GROUP


@dataclass
class DetectorScore:
    """Confusion counts of one detector, the misses by path, and its rate on human controls."""

    name: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    control_fp: int = 0
    controls: int = 0
    false_negatives: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    def count(
        self, path: str, expected: bool, predicted: bool, correct: bool = True, control: bool = False
    ) -> None:
        """Record one document; ``correct`` is False when a positive answer names the wrong thing."""
        if control:
            self.controls += 1
            self.control_fp += int(predicted)
        if expected and predicted and correct:
            self.tp += 1
        elif expected:
            self.fn += 1
            self.false_negatives.append(path)
            if predicted:
                self.fp += 1
                self.false_positives.append(path)
        elif predicted:
            self.fp += 1
            self.false_positives.append(path)
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def control_fp_rate(self) -> float | None:
        return self.control_fp / self.controls if self.controls else None


def load_labels(fixtures: Path = FIXTURES) -> list[dict[str, Any]]:
    with (fixtures / "labels.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def assess_fixture_set(fixtures: Path = FIXTURES) -> list[DocumentResult]:
    """Parse and assess every fixture in path order, as one ingestion run would."""
    registry = SelfOutputRegistry()
    registry.add(load_outputs_jsonl(fixtures / "registered_outputs.jsonl"))
    near_duplicates = NearDuplicateIndex()
    path_of_doc_id: dict[str, str] = {}
    results: list[DocumentResult] = []
    for labels in sorted(load_labels(fixtures), key=lambda row: row["path"]):
        path, doc_id = labels["path"], labels["doc_id"]
        path_of_doc_id[doc_id] = path
        data = (fixtures / "docs" / path).read_bytes()
        mime_type = sniff_mime_type(data, Path(path).name)
        if mime_type is None:
            raise ValueError(f"fixture {path} is not a parseable file")

        started = time.perf_counter()
        parsed = parse_document(data, mime_type, Path(path).name)
        parsed_at = time.perf_counter()
        declared = read_declared_metadata(data, mime_type)
        near = near_duplicates.query(parsed.text, exclude=doc_id)
        registry_match = registry.match(parsed.text, doc_id=doc_id)
        heuristic = score_ai_text(parsed.text)
        c2pa = read_c2pa(data, mime_type)
        provenance = label_provenance(
            declared, None, c2pa=c2pa, registry_match=registry_match, heuristic=heuristic
        )
        flags = scan_safety(parsed.text, data if mime_type in (HTML, PDF) else None, mime_type)
        near_duplicates.add(doc_id, parsed.text)
        done = time.perf_counter()

        results.append(
            DocumentResult(
                labels=labels,
                declared_ai=any(
                    item.kind == "declared_metadata" and item.indicates in AI_LABELS
                    for item in provenance.evidence
                ),
                c2pa_label=c2pa.label if c2pa is not None and c2pa.verified else None,
                registry_output=registry_match.output_id if registry_match is not None else None,
                registry_kind=registry_match.match_kind if registry_match is not None else None,
                safety_codes=frozenset(flag.code for flag in flags),
                pii_found=[(match.kind, match.value) for match in find_pii(parsed.text)],
                near_duplicate_of=path_of_doc_id.get(near[0].doc_id, near[0].doc_id) if near else None,
                heuristic_score=heuristic.score,
                heuristic_suggests_ai=heuristic.suggests_ai(),
                provenance_label=provenance.label,
                parse_ms=(parsed_at - started) * 1000,
                assess_ms=(done - parsed_at) * 1000,
            )
        )
    return results


def _normalised(value: str) -> str:
    return _NOT_ALNUM.sub("", value).upper()


def compute_scores(results: Iterable[DocumentResult] | None = None) -> dict[str, DetectorScore]:
    """Per-detector counts on the fixture set (assessed now unless ``results`` are given).

    Keys: declared_metadata, c2pa, registry (verbatim + lightly edited; paraphrases are left out),
    registry_paraphrase (recall only: not required), injection, hidden_text, hidden_text:<trick>,
    pii_<kind> (per document, from the pipeline's safety flags), pii_<kind>_values (per labelled
    value: found by the same finder, same kind, same characters), near_duplicate,
    heuristic_ai_text (positives: the documents labelled AI by declaration, registry or C2PA).
    """
    results = list(results) if results is not None else assess_fixture_set()
    scores: dict[str, DetectorScore] = {}

    def score(name: str) -> DetectorScore:
        return scores.setdefault(name, DetectorScore(name))

    for result in results:
        labels, path, control = result.labels, result.path, result.is_control
        score("declared_metadata").count(path, labels["declared_ai"], result.declared_ai, control=control)

        expected_c2pa = labels["c2pa"] in AI_LABELS
        score("c2pa").count(
            path,
            expected_c2pa,
            result.c2pa_label in AI_LABELS,
            correct=result.c2pa_label == labels["c2pa"],
            control=control,
        )

        if labels["registry"] == "paraphrase":
            score("registry_paraphrase").count(
                path, True, result.registry_output == labels["registered_output"]
            )
        else:
            expected = labels["registry"] in ("verbatim", "lightly_edited")
            score("registry").count(
                path,
                expected,
                result.registry_output is not None,
                correct=result.registry_output == labels["registered_output"],
                control=control,
            )

        score("injection").count(
            path, labels["injection"], "safety.injection_like" in result.safety_codes, control=control
        )
        hidden = bool(result.safety_codes & HIDDEN_CODES)
        score("hidden_text").count(path, labels["hidden_text"], hidden, control=control)
        if labels["hidden_trick"]:
            score(f"hidden_text:{labels['hidden_trick']}").count(path, True, hidden)

        for kind in BASIC_KINDS:  # the kinds this set labels; tests/fixtures/pii/ labels all
            score(f"pii_{kind}").count(
                path,
                kind in labels["pii_kinds"],
                f"safety.pii_{kind}" in result.safety_codes,
                control=control,
            )
            expected_values = [_normalised(item["value"]) for item in labels["pii"] if item["kind"] == kind]
            found_values = [
                _normalised(value) for found_kind, value in result.pii_found if found_kind == kind
            ]
            values = score(f"pii_{kind}_values")
            for value in expected_values:
                values.count(f"{path} [{value}]", True, value in found_values)
            for value in found_values:
                if value not in expected_values:
                    values.count(f"{path} [{value}]", False, True)

        expected_near = labels["near_duplicate_of"]
        score("near_duplicate").count(
            path,
            expected_near is not None,
            result.near_duplicate_of is not None,
            correct=result.near_duplicate_of == expected_near,
            control=control,
        )

        ai_written = labels["declared_ai"] or labels["c2pa"] in AI_LABELS or labels["registry"] is not None
        score("heuristic_ai_text").count(path, ai_written, result.heuristic_suggests_ai, control=control)
    return scores


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table_row(score: DetectorScore, counts_tn: bool = True) -> str:
    control = (
        f"{score.control_fp}/{score.controls} = {_ratio(score.control_fp_rate)}" if score.controls else "-"
    )
    return (
        f"{score.name:<28} {score.tp:>4} {score.fp:>4} {score.fn:>4} "
        f"{score.tn if counts_tn else '-':>4} {_ratio(score.precision):>9} {_ratio(score.recall):>7}  {control}"
    )


def report(results: list[DocumentResult], scores: dict[str, DetectorScore]) -> str:
    groups: dict[str, int] = {}
    for result in results:
        groups[result.labels["group"]] = groups.get(result.labels["group"], 0) + 1
    lines = [
        f"fixture set: {len(results)} documents; " + ", ".join(f"{g} {n}" for g, n in sorted(groups.items())),
        "",
        f"{'detector':<28} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>9} {'recall':>7}  "
        "FP on human controls",
    ]
    main = ["declared_metadata", "c2pa", "registry", "injection", "hidden_text", "near_duplicate"]
    main += [f"pii_{kind}" for kind in BASIC_KINDS]
    lines += [_table_row(scores[name]) for name in main if name in scores]
    lines += ["", "per labelled value (instance level; TN not defined):"]
    lines += [_table_row(scores[f"pii_{kind}_values"], counts_tn=False) for kind in BASIC_KINDS]
    lines += ["", "not floored:"]
    if "registry_paraphrase" in scores:
        lines.append(_table_row(scores["registry_paraphrase"]) + "   (paraphrases: not required)")
    heuristic = scores["heuristic_ai_text"]
    lines.append(_table_row(heuristic) + "   (weak signal: tags, never blocks)")
    lines += ["", "hidden-text recall by trick:"]
    for name in sorted(n for n in scores if n.startswith("hidden_text:")):
        trick = scores[name]
        lines.append(f"  {name.split(':', 1)[1]:<24} {trick.tp}/{trick.tp + trick.fn}")
    lines += ["", "misses:"]
    for name in main + [f"pii_{kind}_values" for kind in BASIC_KINDS]:
        score = scores.get(name)
        if score is None:
            continue
        for path in score.false_negatives:
            lines.append(f"  {name:<20} FN  {path}")
        for path in score.false_positives:
            lines.append(f"  {name:<20} FP  {path}")
    for result in results:
        expected_kind = result.labels["registry"]
        if result.registry_kind is not None and expected_kind != result.registry_kind:
            lines.append(
                f"  registry kind        {result.registry_kind} (labelled {expected_kind})  {result.path}"
            )
    controls = [r for r in results if r.is_control]
    top = max(controls, key=lambda r: r.heuristic_score)
    lines += [
        "",
        f"heuristic AI-text score on human controls: max {top.heuristic_score:.2f} ({top.path}), "
        f"flagged {heuristic.control_fp}/{heuristic.controls}",
        f"mean time per document: parse {sum(r.parse_ms for r in results) / len(results):.1f} ms, "
        f"assess {sum(r.assess_ms for r in results) / len(results):.1f} ms "
        "(metadata, C2PA, registry, near-duplicates, heuristic, provenance, safety)",
    ]
    return "\n".join(lines)


@dataclass
class PiiResult:
    """What the detectors found in one document of the personal-data set, next to its labels."""

    path: str
    group: str
    text: str
    labels: list[tuple[str, str]]  # (kind, value)
    found: list[tuple[str, int, int]]  # (kind, start, end)
    patterns_ms: float
    model_ms: float


def assess_pii_fixtures(fixtures: Path = PII_FIXTURES) -> list[PiiResult]:
    """Parse each document and find every kind in it, as the worker does under `piiPolicy: redact`."""
    body = json.loads((fixtures / "labels.json").read_text(encoding="utf-8"))
    results: list[PiiResult] = []
    find_pii("Warm-up: Jane Doe.", PII_KINDS)  # the model's one-off load is not a document's time
    for row in sorted(body["documents"], key=lambda r: r["path"]):
        data = (fixtures / "docs" / row["path"]).read_bytes()
        mime_type = sniff_mime_type(data, Path(row["path"]).name)
        if mime_type is None:
            raise ValueError(f"fixture {row['path']} is not a parseable file")
        text = parse_document(data, mime_type, Path(row["path"]).name).text
        started = time.perf_counter()
        find_pii(text, BASIC_KINDS)
        patterns_done = time.perf_counter()
        found = find_pii(text, PII_KINDS, language=detect_language(text))  # as the worker calls it
        done = time.perf_counter()
        results.append(
            PiiResult(
                path=row["path"],
                group=row["group"],
                text=text,
                labels=[(item["kind"], item["value"]) for item in row["pii"]],
                found=[(m.kind, m.start, m.end) for m in found],
                patterns_ms=(patterns_done - started) * 1000,
                model_ms=(done - patterns_done) * 1000,
            )
        )
    return results


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    spans, at = [], text.find(value)
    while at != -1:
        spans.append((at, at + len(value)))
        at = text.find(value, at + 1)
    return spans


def compute_pii_scores(results: Iterable[PiiResult] | None = None) -> dict[str, DetectorScore]:
    """Per kind: TP (labelled values found), FN (labelled values missed), FP (matches overlapping
    no labelled value of their kind). Keys: the kinds of PII_KINDS that the set labels or finds."""
    results = list(results) if results is not None else assess_pii_fixtures()
    scores: dict[str, DetectorScore] = {}
    for result in results:
        labelled: dict[str, list[tuple[int, int]]] = {}
        for kind, value in result.labels:
            spans = _occurrences(result.text, value)
            labelled.setdefault(kind, []).extend(spans)
            hit = any(
                found_kind == kind and start < end_ and end > start_
                for found_kind, start, end in result.found
                for start_, end_ in spans
            )
            scores.setdefault(kind, DetectorScore(kind)).count(f"{result.path} [{value}]", True, hit)
        for kind, start, end in result.found:
            if not any(start < e and end > s for s, e in labelled.get(kind, [])):
                score = scores.setdefault(kind, DetectorScore(kind))
                score.count(f"{result.path} [{result.text[start:end]}]", False, True)
    return scores


def pii_report(results: list[PiiResult], scores: dict[str, DetectorScore]) -> str:
    groups: dict[str, int] = {}
    for result in results:
        groups[result.group] = groups.get(result.group, 0) + 1
    lines = [
        f"personal-data set: {len(results)} documents; "
        + ", ".join(f"{g} {n}" for g, n in sorted(groups.items())),
        "",
        f"{'kind (per labelled value)':<28} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>9} {'recall':>7}",
    ]
    kinds = [kind for kind in PII_KINDS if kind in scores]
    lines += [_table_row(scores[kind], counts_tn=False).rstrip(" -") for kind in kinds]
    lines += ["", "misses:"]
    for kind in kinds:
        lines += [f"  {kind:<14} FN  {path}" for path in scores[kind].false_negatives]
        lines += [f"  {kind:<14} FP  {path}" for path in scores[kind].false_positives]
    count = len(results)
    lines += [
        "",
        f"mean time per document: basic kinds (patterns) {sum(r.patterns_ms for r in results) / count:.2f} ms, "
        f"every kind (patterns + NER model) {sum(r.model_ms for r in results) / count:.2f} ms",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fixtures", type=Path, default=FIXTURES, help="folder holding labels.jsonl and docs/"
    )
    parser.add_argument(
        "--pii-fixtures", type=Path, default=PII_FIXTURES, help="folder holding labels.json and docs/"
    )
    args = parser.parse_args(argv)
    results = assess_fixture_set(args.fixtures)
    print(report(results, compute_scores(results)))
    pii_results = assess_pii_fixtures(args.pii_fixtures)
    print()
    print(pii_report(pii_results, compute_pii_scores(pii_results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
