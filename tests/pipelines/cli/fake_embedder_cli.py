"""`corpusgov` run as a real program, with the tests' slow fake embedder instead of the model:

    python -m tests.pipelines.cli.fake_embedder_cli ingest

For the Ctrl-C tests: the program's own start (its imports, with a Ctrl-C held as the installed
command's are), signal handling, parser worker and teardown, without loading the model.
"""

from pipelines.cli import app, ingest
from pipelines.embedding.model import Embedder
from pipelines.settings import Settings


def _fake_embedder(settings: Settings, notify: object = None) -> Embedder:
    # Imported here, inside the command, where a Ctrl-C is the command's to handle (the tests'
    # modules import pytest, GX and LanceDB: seconds that are not the program's own start).
    from tests.pipelines.ingest_zygote import SlowFakeEmbedder

    return SlowFakeEmbedder()


if __name__ == "__main__":
    ingest.embedder_from_settings = _fake_embedder  # type: ignore[attr-defined]
    app.main()
