"""An erasure killed at each of its named steps (a real process that exits as kill -9 would):
the stores stay consistent (every invariant of the commit protocol holds after recovery), and
`corpusgov erase` run again finishes it: no trace of the marker anywhere, the audit row complete."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.governance.doctor import examine_data_dir
from pipelines.governance.erasure import ERASE_STOP_POINTS, erase_document
from pipelines.governance.ingest import ingest
from pipelines.index.commit_protocol import recover_index, writer_lock
from pipelines.ledger import Ledger
from pipelines.settings import load_settings
from tests.conftest import DEFAULT_CONTRACT, REPO_ROOT, FakeEmbedder, procedure_text, write_doc
from tests.pipelines.governance.test_erase_document import CASE, _marker_places
from tests.pipelines.store_invariants import assert_invariants

pytestmark = pytest.mark.fleet  # an erasure per step, each in its own process (make test runs it)

DOC = "docs/hr/case-jordan.md"
_ERASE = (
    "from pipelines.governance.erasure import erase_document\n"
    "from pipelines.settings import load_settings\n"
    f"erase_document(load_settings(), {DOC!r}, 'request 114')\n"
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the case document in five index versions (two revisions of it), built once."""
    root = tmp_path_factory.mktemp("erase-kills")
    corpus = root / "corpus"
    (root / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {DEFAULT_CONTRACT}\n",
        encoding="utf-8",
    )
    previous = os.environ.get("CORPUSGOV_CONFIG")
    os.environ["CORPUSGOV_CONFIG"] = str(root / "corpusgov.yaml")
    try:
        settings, embedder = load_settings(), FakeEmbedder()
        write_doc(corpus, "receiving.md", procedure_text("receiving"))
        write_doc(corpus, "hr/case-jordan.md", CASE.replace("Leeds", "York"))
        ingest(settings, embedder)
        write_doc(corpus, "hr/case-jordan.md", CASE)
        ingest(settings, embedder)
        for round_number in (3, 4):
            write_doc(corpus, "notes.md", procedure_text("notes") + f"\nRevision {round_number}.\n")
            ingest(settings, embedder)
    finally:
        if previous is None:
            os.environ.pop("CORPUSGOV_CONFIG", None)
        else:
            os.environ["CORPUSGOV_CONFIG"] = previous
    # The person deletes the file at its source and erases what corpusgov holds of it.
    (corpus / "hr" / "case-jordan.md").unlink()
    return root


@pytest.mark.parametrize("stop_at", ERASE_STOP_POINTS)
def test_an_erasure_killed_at_each_step_is_finished_by_the_next(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_at: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(prepared, project)
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(project / "corpusgov.yaml"))
    settings = load_settings()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CORPUSGOV_STOP_AT": stop_at,
        "CORPUSGOV_STOP_MODE": "exit",
    }
    killed = subprocess.run([sys.executable, "-c", _ERASE], cwd=project, env=env, timeout=300, check=False)
    assert killed.returncode == 137, f"the erasure did not reach {stop_at}"

    with writer_lock(settings):
        recover_index(settings)
    # Stopped before its ledger commit, the erasure did not happen: the row of the file the
    # person deleted stays until the erasure (or an ingest) runs.
    assert_invariants(settings, project / "corpus", conservation=stop_at != "erase.after_index_delete")

    erasures = next(f for f in examine_data_dir(settings).findings if f.check == "erasures")
    assert erasures.ok == (stop_at == "erase.after_index_delete"), erasures
    if not erasures.ok:
        assert "run the same `corpusgov erase` again" in erasures.detail

    erase_document(settings, DOC, "request 114")
    assert _marker_places(settings) == []
    assert next(f for f in examine_data_dir(settings).findings if f.check == "erasures").ok
    assert_invariants(settings, project / "corpus")
    (erasure,) = Ledger.of(settings).erasures()
    assert erasure.completed_at is not None and erasure.certificate["index"]["files_deleted"]
    assert erasure.certificate["index"]["head_version"] == 5
