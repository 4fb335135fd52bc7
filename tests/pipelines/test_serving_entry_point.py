"""The RAG app's entry point (pipelines/serving.py) and the plain-LanceDB recipe of README.md read
the published index version, tag `serving`, never the table's head: a candidate committed under
`serving.publish: gated` stays invisible to them until it is promoted."""

import re
from pathlib import Path
from typing import Any

import lancedb
import pytest

from pipelines import serving
from pipelines.errors import CorpusgovError
from pipelines.governance.ingest import ingest
from pipelines.index.table import index_tag
from pipelines.settings import Settings, load_settings
from pipelines.storage import lancedb_storage_options
from tests.conftest import FakeEmbedder, prepared, procedure_text, write_doc

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Reading the index from a RAG app"


def _rows(table: Any) -> tuple[int, list[str], set[str]]:
    """What a reader sees: the row count, the chunk ids and the doc ids."""
    data = table.to_arrow()
    return (
        table.count_rows(),
        sorted(data.column("chunk_id").to_pylist()),
        set(data.column("doc_id").to_pylist()),
    )


def _gated(project: Path) -> None:
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "serving:\n  publish: gated\n", encoding="utf-8")


def _published_then_candidate(
    project: Path, embedder: FakeEmbedder
) -> tuple[Settings, tuple[int, list[str], set[str]]]:
    """v1 published by a first ingest, then v2 committed but only a candidate (gated): the state in
    which reading the head and reading `serving` differ. Returns v1's rows as served."""
    for topic in ("loading dock", "cold storage", "forklift charging"):
        write_doc(project / "corpus", f"{topic.replace(' ', '_')}.md", procedure_text(topic))

    def first_ingest() -> None:
        first = ingest(load_settings(), embedder)
        assert first.publication.published is not None, "the first version is published at once"

    prepared(project, f"published-corpus-{embedder.model_id}", first_ingest)
    served = _rows(serving.open_table())

    _gated(project)
    write_doc(project / "corpus", "loading_dock.md", procedure_text("loading dock", steps=9))
    (project / "corpus" / "cold_storage.md").unlink()
    write_doc(project / "corpus", "night_shift.md", procedure_text("night shift"))
    settings = load_settings()
    second = ingest(settings, embedder)
    assert second.publication.published is None and second.publication.candidate == 2
    return settings, served


def test_open_table_reads_the_published_version_while_the_head_holds_a_candidate(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    settings, v1 = _published_then_candidate(project, fake_embedder)
    assert v1[2] == {"docs/loading_dock.md", "docs/cold_storage.md", "docs/forklift_charging.md"}

    table = serving.open_table()
    assert _rows(table) == v1

    head = lancedb.connect(settings.lancedb_uri).open_table("chunks")
    assert head.tags.list()[index_tag(2)]["version"] == head.version, "the head is v2"
    assert table.version < head.version
    head_docs = _rows(head)[2]
    assert "docs/night_shift.md" in head_docs and "docs/cold_storage.md" not in head_docs


def test_open_table_finds_the_config_as_the_cli_does(
    project: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """An explicit path (str or Path) wins; without one, $CORPUSGOV_CONFIG, then ./corpusgov.yaml."""
    _, v1 = _published_then_candidate(project, fake_embedder)
    config = project / "corpusgov.yaml"
    assert _rows(serving.open_table(config)) == v1
    monkeypatch.delenv("CORPUSGOV_CONFIG")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert _rows(serving.open_table(str(config))) == v1
    with pytest.raises(CorpusgovError, match="No config file at"):
        serving.open_table()
    monkeypatch.chdir(project)
    assert _rows(serving.open_table()) == v1


def test_search_returns_only_served_documents(project: Path, fake_embedder: FakeEmbedder) -> None:
    _, v1 = _published_then_candidate(project, fake_embedder)
    hits = serving.search("night shift procedure", k=10, embedder=fake_embedder)
    assert hits and {h.doc_id for h in hits} <= v1[2]
    assert "docs/night_shift.md" not in {h.doc_id for h in hits}
    assert {h.chunk_id for h in hits} <= set(v1[1])
    # The governance filters reach search_corpus.
    assert (
        serving.search("night shift procedure", k=10, embedder=fake_embedder, exclude_labels=("unknown",))
        == []
    )
    with pytest.raises(CorpusgovError, match="Unknown grade 'Z'"):
        serving.search("night shift procedure", embedder=fake_embedder, min_grade="Z")


def test_with_nothing_built_open_table_says_to_ingest_and_creates_nothing(project: Path) -> None:
    with pytest.raises(CorpusgovError) as raised:
        serving.open_table()
    message = str(raised.value)
    assert message.startswith("Nothing is published yet: run `corpusgov ingest`")
    assert "\n" not in message
    assert not (project / "data" / "lancedb").exists(), "a reader leaves no folders behind"


def test_with_only_a_candidate_open_table_says_to_promote_it(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    _gated(project)
    write_doc(project / "corpus", "loading_dock.md", procedure_text("loading dock"))
    outcome = ingest(load_settings(), fake_embedder)
    assert outcome.publication.published is None and outcome.publication.candidate == 1
    with pytest.raises(CorpusgovError) as raised:
        serving.open_table()
    message = str(raised.value)
    assert message.startswith("Nothing is published yet: index version 1 is a candidate.")
    assert "`corpusgov index promote 1`" in message and "\n" not in message


def _readme_blocks() -> tuple[str, list[str]]:
    """The README section, and its Python code blocks."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    section = text[start:end]
    return section, re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_recipes_read_what_open_table_reads(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code README.md shows, run as it is from the project folder (the fake embedder stands in
    for the configured one, which the index was not built with)."""
    _, v1 = _published_then_candidate(project, fake_embedder)
    entry_point, plain = _readme_blocks()[1]
    monkeypatch.chdir(project)
    monkeypatch.setattr(serving, "embedder_from_settings", lambda _settings: fake_embedder)

    shown: dict[str, Any] = {}
    exec(entry_point, shown)
    assert _rows(shown["table"]) == v1
    assert {h.doc_id for h in shown["hits"]} <= v1[2]

    recipe: dict[str, Any] = {}
    exec(plain, recipe)
    assert "lancedb.connect(" in plain and 'table.checkout("serving")' in plain
    assert _rows(recipe["table"]) == _rows(serving.open_table()) == v1


def test_the_readme_s3_recipe_names_the_storage_options_corpusgov_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    section = " ".join(_readme_blocks()[0].split())
    for key, value in lancedb_storage_options("s3://bucket/prefix").items():
        assert f'"{key}": "{value}"' in section
