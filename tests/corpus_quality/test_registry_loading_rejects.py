"""load_outputs_jsonl says which line of which file is wrong, and why."""

import json
from pathlib import Path

import pytest

from corpus_quality import OutputRegistryError, load_outputs_jsonl

GOOD = {"id": "out-1", "text": "An answer.", "derived_from": ["doc-a"]}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "outputs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_blank_lines_are_skipped_and_extra_fields_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(GOOD), "", json.dumps({**GOOD, "id": "out-2", "prompt": "q?"}))
    assert [output.output_id for output in load_outputs_jsonl(path)] == ["out-1", "out-2"]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: expected a JSON object"),
        (json.dumps({"text": "x", "derived_from": []}), "line 2: 'id' is required"),
        (json.dumps({"id": "out-2", "text": "  ", "derived_from": []}), "line 2: 'text' is required"),
        (json.dumps({"id": "out-2", "text": "x"}), "line 2: 'derived_from' is required"),
        (json.dumps({"id": "out-2", "text": "x", "derived_from": "doc-a"}), "line 2: 'derived_from' .* list"),
        (
            json.dumps({"id": "out-2", "text": "x", "derived_from": [], "model": 4}),
            "line 2: 'model' must be a string",
        ),
        (json.dumps(GOOD), "line 2: output id 'out-1' was already registered on line 1"),
    ],
)
def test_bad_line_is_named(tmp_path: Path, bad_line: str, message: str) -> None:
    path = write(tmp_path, json.dumps(GOOD), bad_line)
    with pytest.raises(OutputRegistryError, match=message) as raised:
        load_outputs_jsonl(path)
    assert str(path) in str(raised.value)


def test_missing_file_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(OutputRegistryError, match="cannot read registered outputs"):
        load_outputs_jsonl(tmp_path / "absent.jsonl")
