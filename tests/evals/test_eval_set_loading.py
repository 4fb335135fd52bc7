"""Loading eval sets: both file formats, and errors that say where and what to fix."""

from pathlib import Path

import pytest

from evals.errors import EvalSetError
from evals.sets import GoldEvidence, lint_eval_set, load_eval_set
from tests.evals.index_snapshots import FIXTURES

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sample_eval_set_loads_every_item() -> None:
    eval_set = load_eval_set(REPO_ROOT / "examples" / "evals" / "sample.jsonl")
    assert eval_set.name == "sample"
    assert len(eval_set.items) == 15
    assert all(item.gold for item in eval_set.items)
    assert {item.split for item in eval_set.items} <= {"dev", "holdout"}


def test_jsonl_and_yaml_with_the_same_items_have_the_same_content_hash() -> None:
    from_jsonl = load_eval_set(FIXTURES / "warehouse.jsonl")
    from_yaml = load_eval_set(FIXTURES / "warehouse.yaml")
    assert from_jsonl.items == from_yaml.items
    assert from_jsonl.content_hash == from_yaml.content_hash


def test_items_keep_gold_evidence_reference_answer_and_split() -> None:
    eval_set = load_eval_set(FIXTURES / "warehouse.yaml")
    r2 = eval_set.item("r2")
    assert r2.reference_answer is None
    assert r2.gold == (
        GoldEvidence(
            "docs/safety.md",
            "Forklift drivers must renew their certificate every two years at the site training centre.",
        ),
    )
    assert eval_set.item("r3").split == "holdout"


def test_editing_an_item_changes_the_content_hash(tmp_path: Path) -> None:
    original = (FIXTURES / "warehouse.jsonl").read_text(encoding="utf-8")
    edited = tmp_path / "warehouse.jsonl"
    edited.write_text(original.replace("every two years", "every three years"), encoding="utf-8")
    assert load_eval_set(edited).content_hash != load_eval_set(FIXTURES / "warehouse.jsonl").content_hash


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("duplicate_ids.jsonl", ["line 2", "duplicate item id 'a1'", "first at line 1", "unique id"]),
        ("missing_gold.yaml", ["item 1 (id 'g1')", "`gold` is missing or empty", "doc_id"]),
        ("bad_split.jsonl", ["line 1", "'s1'", "`split` is 'test'", "dev, holdout"]),
        ("invalid_json.jsonl", ["line 3", "invalid JSON", "one JSON object"]),
        ("unknown_key.jsonl", ["refrence_answer", "reference_answer"]),
    ],
)
def test_load_errors_name_the_file_the_place_and_the_fix(fixture: str, expected: list[str]) -> None:
    with pytest.raises(EvalSetError) as raised:
        load_eval_set(FIXTURES / fixture)
    message = str(raised.value)
    assert message.startswith(str(FIXTURES / fixture))
    for fragment in expected:
        assert fragment in message
    assert "\n" not in message


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,question\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"\.jsonl"):
        load_eval_set(path)


def test_missing_file_is_an_eval_set_error(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="file not found"):
        load_eval_set(tmp_path / "absent.jsonl")


def test_empty_eval_set_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("items: []\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="no items"):
        load_eval_set(path)


def test_lint_lists_every_problem_with_its_line_and_load_raises_the_first(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text(
        "items:\n"
        "  - id: a1\n    question: Q?\n    gold: [{doc_id: d, passage: p}]\n    split: dev\n"
        "  - id: a2\n    question: Q?\n    colour: red\n    gold: [{doc_id: d, passage: p}]\n    split: dev\n"
        "  - id: a1\n    question: Q?\n    gold: [{doc_id: d, passage: p}]\n    split: test\n",
        encoding="utf-8",
    )
    problems = lint_eval_set(path)
    assert [(p.line, p.problem) for p in problems] == [
        (6, "unknown key(s) colour."),
        (11, "`split` is 'test'."),
        (11, "duplicate item id 'a1' (first at line 2, item 1 (id 'a1'))."),
    ]
    assert "line 6, item 2 (id 'a2')" in str(problems[0])
    with pytest.raises(EvalSetError) as raised:
        load_eval_set(path)
    assert str(raised.value) == str(problems[0])
    assert lint_eval_set(FIXTURES / "warehouse.yaml") == []


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("- id: a1\n  question: [unclosed\n", encoding="utf-8")
    [problem] = lint_eval_set(path)
    assert problem.line is not None and "invalid YAML" in problem.problem
    assert f"{path}: line {problem.line}: invalid YAML" in str(problem)
