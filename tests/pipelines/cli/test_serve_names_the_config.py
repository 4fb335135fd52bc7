"""One way to name the config: `corpusgov --config FILE serve` starts Dagster on that file, so the
code location's assets and its runs read the config the command was given."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import pipelines.cli.serve as serve
from pipelines.cli.app import app
from pipelines.settings import CONFIG_ENV


class _Started:
    def __init__(self, command: list[str], **kwargs: Any) -> None:
        self.command, self.env = command, kwargs["env"]
        self.pid = 0

    def wait(self) -> int:
        return 0

    def poll(self) -> int:
        return 0


class _Reports:
    def shutdown(self) -> None:
        pass


def test_serve_starts_dagster_on_the_config_it_was_given(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere" / "other.yaml"
    other.parent.mkdir()
    other.write_text((project / "corpusgov.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    started: list[_Started] = []
    monkeypatch.setattr(serve, "start_report_server", lambda _settings: _Reports())
    monkeypatch.setattr(
        subprocess, "Popen", lambda command, **kw: started.append(_Started(command, **kw)) or started[-1]
    )
    monkeypatch.setattr(serve.signal, "signal", lambda *_args: None)
    result = CliRunner().invoke(app, ["--config", str(other), "serve"])
    assert result.exit_code == 0, result.output
    [dagster] = started
    assert "dagster" in dagster.command and "dev" in dagster.command
    assert dagster.env[CONFIG_ENV] == str(other.resolve())
