"""A project laid out as the README suggests (corpusgov.yaml beside a `contracts/` folder), run
from its own folder with the installed `corpusgov` command: the folder never shadows the
`contracts` package, neither in the CLI nor in the parser worker it starts."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, procedure_text, write_doc


@pytest.mark.fleet  # the installed command and its parser worker: two cold Python starts, ~25 s
def test_a_project_with_a_contracts_folder_ingests_from_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    shutil.copyfile(
        REPO_ROOT / "contracts" / "default.odcs.yaml", tmp_path / "contracts" / "default.odcs.yaml"
    )
    write_doc(tmp_path / "docs", "receiving.md", procedure_text("receiving"))
    (tmp_path / "corpusgov.yaml").write_text(
        "data_dir: data\nsources:\n  - name: docs\n    path: docs\n    contract: contracts/default.odcs.yaml\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CORPUSGOV_CONFIG", "PYTHONPATH")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "corpusgov"), "ingest", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "ImportError" not in done.stderr
    report = json.loads(done.stdout)
    assert report["index_version"] == 1 and report["added"] == ["docs/receiving.md"]
