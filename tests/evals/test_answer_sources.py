"""The app's answers: a JSONL file or a callable, each with a fingerprint that changes with them,
and the config that names them and the judge."""

import sys
from pathlib import Path

import pytest

from evals.answers import CallableAnswers, JsonlAnswers, load_answers
from evals.errors import EvalSetError
from pipelines.errors import ConfigError
from pipelines.settings import load_settings


def write_answers(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_answers_are_found_by_item_and_fingerprinted_by_content(tmp_path: Path) -> None:
    path = write_answers(
        tmp_path / "answers.jsonl",
        [
            '{"id": "q01", "answer": "Thirty days."}',
            '{"id": "q02", "answer": "Tuesdays.", "contexts": ["a b"]}',
        ],
    )
    answers = load_answers(str(path))
    assert isinstance(answers, JsonlAnswers)
    assert answers.answer("q01", "How long?", []) == "Thirty days."
    assert answers.answer("q99", "Unknown?", []) is None
    before = answers.fingerprint
    write_answers(path, ['{"id": "q01", "answer": "Thirty calendar days."}'])
    assert load_answers(str(path)).fingerprint != before


def test_answers_given_on_other_contexts_are_noticed(tmp_path: Path) -> None:
    path = write_answers(
        tmp_path / "answers.jsonl",
        [
            '{"id": "q01", "answer": "x", "contexts": ["Refunds  take 30 days."]}',
            '{"id": "q02", "answer": "y"}',
        ],
    )
    answers = load_answers(str(path))
    assert not answers.answered_on_other_contexts("q01", ["refunds take 30 days.", "other"])
    assert answers.answered_on_other_contexts("q01", ["An unrelated chunk."])
    assert not answers.answered_on_other_contexts("q02", ["anything"]), (
        "no contexts given: nothing to compare"
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not JSON"),
        ('{"answer": "x"}', "no string `id`"),
        ('{"id": "q1"}', "`answer` is missing"),
        ('{"id": "q1", "answer": "x", "contexts": "one"}', "`contexts` is not a list"),
    ],
)
def test_a_bad_answers_line_names_the_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = write_answers(tmp_path / "answers.jsonl", ['{"id": "q0", "answer": "ok"}', line])
    with pytest.raises(EvalSetError) as raised:
        load_answers(str(path))
    assert f"{path}: line 2: " in str(raised.value) and problem in str(raised.value)


def test_a_callable_is_called_with_the_retrieved_contexts_and_fingerprinted_by_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "my_rag_app.py"
    module.write_text("def answer(question, contexts):\n    return f'{question} -> {len(contexts)}'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    answers = load_answers("my_rag_app:answer")
    assert isinstance(answers, CallableAnswers)
    assert answers.answer("q01", "Why?", ["a", "b"]) == "Why? -> 2"
    before = answers.fingerprint
    assert before.startswith("callable:my_rag_app:answer@")
    module.write_text("def answer(question, contexts):\n    return 'changed'\n")
    del sys.modules["my_rag_app"]
    assert load_answers("my_rag_app:answer").fingerprint != before


def test_a_missing_module_or_function_says_what_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EvalSetError, match="cannot be imported"):
        load_answers("no_such_app_module:answer")
    (tmp_path / "app_without.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(EvalSetError, match="has no function answer"):
        load_answers("app_without:answer")


def config_with(tmp_path: Path, evals_extra: str) -> Path:
    path = tmp_path / "corpusgov.yaml"
    path.write_text(f"data_dir: data\nsources: []\nevals:\n  sets: []\n{evals_extra}")
    return path


def test_the_judge_key_must_come_from_the_environment(tmp_path: Path) -> None:
    path = config_with(
        tmp_path, "  judge:\n    base_url: http://127.0.0.1:8000/v1\n    model: m\n    api_key: sk-live-123\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert "${OPENAI_API_KEY}" in str(raised.value)
    assert "sk-live-123" not in str(raised.value), "a key written in the file is never echoed"


def test_judge_and_answers_load_with_paths_relative_to_the_config(tmp_path: Path) -> None:
    path = config_with(
        tmp_path,
        "  judge:\n    base_url: http://127.0.0.1:8000/v1/\n    model: qwen2.5\n    api_key: ${JUDGE_KEY}\n"
        "  answers: app/answers.jsonl\n",
    )
    settings = load_settings(path)
    assert settings.evals.judge is not None
    assert settings.evals.judge.base_url == "http://127.0.0.1:8000/v1"
    assert settings.evals.judge.api_key == "${JUDGE_KEY}"
    assert settings.evals.answers == str(tmp_path / "app" / "answers.jsonl")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  answers: answers.csv\n", "answers must be a .jsonl file"),
        ("  judge:\n    base_url: 127.0.0.1:8000\n    model: m\n", r"base_url must be the http\(s\) URL"),
    ],
)
def test_bad_judge_or_answers_config_is_refused_at_load(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(config_with(tmp_path, extra))
