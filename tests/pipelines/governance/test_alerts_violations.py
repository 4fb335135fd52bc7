"""Which alerts the ledger yields: one per (document, reason, contract version), a blocked run
per source over budget, and a broken source once until its error changes."""

import json
from pathlib import Path

import pytest

from pipelines.governance.alerts import collect_alerts, dispatch_alerts
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import DEFAULT_CONTRACT, FakeEmbedder, procedure_text, write_doc


def use_contract(project: Path, contract_text: str) -> Path:
    """Point the `docs` source at a copy of the default contract with `contract_text` in it."""
    contract = project / "contract.odcs.yaml"
    contract.write_text(contract_text, encoding="utf-8")
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(str(DEFAULT_CONTRACT), str(contract))
        + "alerts:\n  - kind: file\n    path: alerts.jsonl\n",
        encoding="utf-8",
    )
    return contract


def jsonl_lines(project: Path) -> list[dict]:
    return [json.loads(line) for line in (project / "alerts.jsonl").read_text().splitlines()]


def test_only_contract_and_policy_reasons_of_quarantined_documents_alert(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    use_contract(project, DEFAULT_CONTRACT.read_text(encoding="utf-8"))
    write_doc(project / "corpus", "ok.md", procedure_text("receiving"))
    write_doc(project / "corpus", "tiny.md", "# Hi\n\nok\n")
    write_doc(project / "corpus", "empty.md", b"")  # rejected at discovery, not a contract matter
    run_ingestion(load_settings(), fake_embedder)

    alerts = collect_alerts(load_settings())

    assert [(a.kind, a.doc_id, a.reason, a.contract_version) for a in alerts] == [
        ("contract_violation", "docs/tiny.md", "contract.text_too_short", "1.0.0"),
    ]
    assert alerts[0].key == "violation:docs/tiny.md:contract.text_too_short:1.0.0"


def test_a_new_contract_version_alerts_a_standing_violation_again(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    contract_text = DEFAULT_CONTRACT.read_text(encoding="utf-8")
    contract = use_contract(project, contract_text)
    write_doc(project / "corpus", "tiny.md", "# Hi\n\nok\n")
    run_ingestion(load_settings(), fake_embedder)
    assert dispatch_alerts(load_settings()).sent == 1
    assert dispatch_alerts(load_settings()).sent == 0

    contract.write_text(contract_text.replace("version: 1.0.0", "version: 1.1.0"), encoding="utf-8")
    run_ingestion(load_settings(), fake_embedder)
    report = dispatch_alerts(load_settings())

    assert report.sent == 1
    assert [line["contract_version"] for line in jsonl_lines(project)] == ["1.0.0", "1.1.0"]


def blocking_contract() -> str:
    text = DEFAULT_CONTRACT.read_text(encoding="utf-8")
    budget = "  - property: maxViolationRate\n    value: 1.0\n"
    assert budget in text
    return text.replace(budget, "  - property: maxViolationRate\n    value: 0.0\n")


def test_a_blocked_run_alerts_a_failed_check(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, blocking_contract())
    write_doc(project / "corpus", "ok.md", procedure_text("receiving"))
    write_doc(project / "corpus", "tiny.md", "# Hi\n\nok\n")
    assert run_ingestion(load_settings(), fake_embedder).blocked

    report = dispatch_alerts(load_settings())

    assert report.sent == 1
    [line] = jsonl_lines(project)
    assert (line["kind"], line["source"]) == ("check_failed", "docs")
    assert "run blocked" in line["message"] and "contract.text_too_short" in line["message"]
    assert "50%" in line["message"]
    assert dispatch_alerts(load_settings()).sent == 0


def test_a_broken_contract_alerts_once_until_its_error_changes(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    contract = use_contract(project, "apiVersion: v3.2.0\nkind: DataContract\n")
    write_doc(project / "corpus", "ok.md", procedure_text("receiving"))
    settings: Settings = load_settings()
    run_ingestion(settings, fake_embedder)
    run_ingestion(settings, fake_embedder)

    first = dispatch_alerts(settings)

    assert first.sent == 1
    [line] = jsonl_lines(project)
    assert (line["kind"], line["source"]) == ("source_error", "docs")
    assert "contract is broken" in line["message"]

    run_ingestion(settings, fake_embedder)
    assert dispatch_alerts(settings).sent == 0

    contract.write_text("not: [valid", encoding="utf-8")
    run_ingestion(settings, fake_embedder)
    assert dispatch_alerts(settings).sent == 1


def test_a_failed_cli_run_alerts_once(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every way a run can go wrong alerts, a crash of the run itself included."""
    from typer.testing import CliRunner

    import pipelines.cli.ingest as cli_ingest
    from pipelines.cli.app import app

    use_contract(project, DEFAULT_CONTRACT.read_text(encoding="utf-8"))
    write_doc(project / "corpus", "ok.md", procedure_text("receiving"))
    run_ingestion(load_settings(), fake_embedder)
    write_doc(project / "corpus", "new.md", procedure_text("returns"))
    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: fake_embedder)

    def broken_embed(texts: object) -> object:
        raise RuntimeError("the model server ran out of memory")

    monkeypatch.setattr(fake_embedder, "embed", broken_embed)
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code != 0
    report = dispatch_alerts(load_settings())
    assert report.sent == 1
    [line] = jsonl_lines(project)
    assert line["kind"] == "run_failed" and line["source"] == "docs"
    assert "failed at corpusgov ingest: the model server ran out of memory" in line["message"]
    assert dispatch_alerts(load_settings()).sent == 0
