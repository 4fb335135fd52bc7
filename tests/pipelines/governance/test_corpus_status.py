"""`corpusgov status --json` as a record (CorpusStatus): read back as printed, with its keys in
order, and the shape older corpusgov printed (no embedding model, no index problem) still reads."""

import json

from pipelines.governance.catalog import CorpusStatus

DOCUMENTS = {"indexed": 27, "quarantined": 0, "rejected": 3, "removed": 0}


def test_the_status_reads_back_as_printed_and_reads_the_older_shape() -> None:
    status = CorpusStatus(
        index_version=2,
        lance_version=2,
        chunks=132,
        embedding_model="fake-embedder@test",
        documents=DOCUMENTS,
        index_problem=None,
    )
    assert CorpusStatus.from_json(status.as_json()) == status
    assert json.dumps(status.as_json()) == (
        '{"index_version": 2, "lance_version": 2, "chunks": 132, "embedding_model": "fake-embedder@test", '
        '"documents": {"indexed": 27, "quarantined": 0, "rejected": 3, "removed": 0}, "index_problem": null, '
        '"serving_version": null}'
    )
    empty = CorpusStatus(None, None, 0, None, dict.fromkeys(DOCUMENTS, 0), None)
    assert CorpusStatus.from_json(empty.as_json()) == empty

    older = CorpusStatus.from_json(
        {"index_version": 3, "lance_version": 3, "chunks": 412, "documents": DOCUMENTS}
    )
    assert older == CorpusStatus(3, 3, 412, None, DOCUMENTS, None)
