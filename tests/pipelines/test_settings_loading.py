"""Config: one file, two documented overrides, clear errors."""

from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.settings import load_settings


def test_relative_paths_resolve_against_the_config_file(project: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == project / "data"
    assert settings.sources[0].path == str(project / "corpus")


def test_data_dir_env_overrides_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CORPUSGOV_DATA_DIR", str(tmp_path / "elsewhere"))
    assert load_settings().data_dir == tmp_path / "elsewhere"


def test_config_env_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("data_dir: d2\nsources: []\n")
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(other))
    assert load_settings().data_dir == tmp_path / "d2"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sources: [ {name: a", "not valid YAML"),
        ("sources:\n  - name: a\n    path: x\n", "sources.0.contract"),
        ("colour: blue\n", "colour"),
        ("sources:\n  - {name: a, path: x, contract: c}\n  - {name: a, path: y, contract: c}\n", "unique"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "corpusgov.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        load_settings(path)
