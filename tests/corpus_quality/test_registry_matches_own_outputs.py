"""The self-output registry recognises text the RAG app generated when it comes back as a document."""

from dataclasses import replace
from pathlib import Path

import pytest

from corpus_quality import (
    RegisteredOutput,
    SelfOutputRegistry,
    generation_depth,
    load_outputs_jsonl,
)
from corpus_quality.registry import LIGHTLY_EDITED_THRESHOLD, VERBATIM_THRESHOLD, OutputRegistryError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "corpus_quality"
EXAMPLES = Path(__file__).parents[2] / "examples" / "corpus"


@pytest.fixture(scope="module")
def outputs() -> dict[str, RegisteredOutput]:
    return {
        output.output_id: output for output in load_outputs_jsonl(FIXTURES / "registry" / "outputs.jsonl")
    }


@pytest.fixture
def registry(outputs: dict[str, RegisteredOutput]) -> SelfOutputRegistry:
    registry = SelfOutputRegistry()
    registry.add(outputs.values())
    return registry


def human_texts() -> list[tuple[str, str]]:
    paths = sorted((FIXTURES / "texts").iterdir()) + sorted((FIXTURES / "human_prose").iterdir())
    paths += sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".md", ".txt", ".html"))
    return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in paths]


def test_loading_reads_every_field(outputs: dict[str, RegisteredOutput]) -> None:
    vpn = outputs["out-vpn-691"]
    assert vpn.derived_from == ("it/vpn-troubleshooting.txt", "it/passwords-and-mfa.html")
    assert vpn.generated_at == "2026-03-02T09:14:00Z"
    assert vpn.model == "gpt-4o-mini"
    assert outputs["out-dock-booking"].model is None


def test_verbatim_copy_matches_with_its_lineage(registry: SelfOutputRegistry, outputs: dict) -> None:
    match = registry.match(outputs["out-vpn-691"].text)
    assert match is not None
    assert match.output_id == "out-vpn-691"
    assert match.match_kind == "verbatim"
    assert match.similarity == 1.0
    assert match.derived_from == ("it/vpn-troubleshooting.txt", "it/passwords-and-mfa.html")


def test_formatting_and_case_changes_are_still_verbatim(registry: SelfOutputRegistry, outputs: dict) -> None:
    reformatted = outputs["out-returns-window"].text.upper().replace(", ", ",\n- ")
    match = registry.match(reformatted)
    assert match is not None and match.match_kind == "verbatim"


def test_lightly_edited_copy_matches(registry: SelfOutputRegistry, outputs: dict) -> None:
    edited = (
        outputs["out-returns-window"]
        .text.replace("thirty days", "30 days")
        .replace("five working", "seven working")
        + " Questions about a specific order go to returns@northwind.example."
    )
    match = registry.match(edited)
    assert match is not None
    assert match.output_id == "out-returns-window"
    assert match.match_kind == "lightly_edited"
    assert LIGHTLY_EDITED_THRESHOLD <= match.similarity < VERBATIM_THRESHOLD


def test_output_quoted_inside_a_longer_page_matches_by_containment(
    registry: SelfOutputRegistry, outputs: dict
) -> None:
    page = (FIXTURES / "texts" / "procedure.txt").read_text()
    quoting = page + "\n\nThe assistant answered:\n\n" + outputs["out-dock-booking"].text + "\n\n" + page
    match = registry.match(quoting)
    assert match is not None
    assert match.output_id == "out-dock-booking"
    assert match.match_kind == "verbatim"


def test_paraphrase_is_not_matched(registry: SelfOutputRegistry) -> None:
    # Same facts as out-vpn-691, reworded: the heuristic detector is the net for these.
    paraphrase = (
        "Seeing error 691 when connecting to the VPN? That usually points to an expired directory "
        "password. Change it through the password self-service site and give it roughly ten minutes "
        "to replicate before trying again. Still refused? Reboot both the VPN software and the laptop, "
        "check that the client is at least release 5.2, and phone the helpdesk on 4357."
    )
    assert registry.match(paraphrase) is None


@pytest.mark.parametrize(("name", "text"), human_texts())
def test_human_documents_do_not_match(registry: SelfOutputRegistry, name: str, text: str) -> None:
    assert registry.match(text) is None, name


def test_source_documents_are_not_matched_to_the_answers_that_quote_them(outputs: dict) -> None:
    source = (EXAMPLES / "it" / "vpn-troubleshooting.txt").read_text()
    excerpt = source.split("AUTHENTICATION ERRORS")[1][:600]
    extractive = RegisteredOutput("out-extractive", excerpt, ("it/vpn-troubleshooting.txt",))
    registry = SelfOutputRegistry()
    registry.add([extractive])
    assert registry.match(source) is not None  # the answer is made of the source's sentences
    assert registry.match(source, doc_id="it/vpn-troubleshooting.txt") is None


def test_short_outputs_are_never_evidence() -> None:
    registry = SelfOutputRegistry()
    registry.add([RegisteredOutput("out-short", "Please contact the IT Helpdesk on extension 4357.", ())])
    assert registry.match("Please contact the IT Helpdesk on extension 4357.") is None


def test_reregistering_replaces_and_remove_forgets(registry: SelfOutputRegistry, outputs: dict) -> None:
    vpn = outputs["out-vpn-691"]
    registry.add([replace(vpn, text=outputs["out-returns-window"].text)])
    assert registry.match(vpn.text) is None
    assert registry.match(outputs["out-returns-window"].text) is not None
    registry.remove("out-vpn-691")
    registry.remove("out-returns-window")
    assert registry.match(outputs["out-returns-window"].text) is None
    assert len(registry) == 1


def test_rows_round_trip_through_json(registry: SelfOutputRegistry, outputs: dict) -> None:
    import json

    rows = json.loads(json.dumps(registry.to_rows()))
    restored = SelfOutputRegistry.from_rows(rows)
    assert len(restored) == 3
    assert restored.to_rows() == registry.to_rows()
    assert restored.match(outputs["out-dock-booking"].text) == registry.match(
        outputs["out-dock-booking"].text
    )


def test_rows_from_an_older_fingerprint_are_refingerprinted(
    registry: SelfOutputRegistry, outputs: dict
) -> None:
    rows = [{**row, "fingerprint_version": "old", "shingle_hashes": [1, 2, 3]} for row in registry.to_rows()]
    restored = SelfOutputRegistry.from_rows(rows)
    match = restored.match(outputs["out-vpn-691"].text)
    assert match is not None and match.similarity == 1.0


def test_broken_rows_are_rejected() -> None:
    with pytest.raises(OutputRegistryError, match="row 1"):
        SelfOutputRegistry.from_rows([{"output_id": "x", "text": "y"}])


def test_generation_depth_is_one_more_than_the_deepest_source(
    registry: SelfOutputRegistry, outputs: dict
) -> None:
    assert generation_depth([]) == 1
    assert generation_depth([0, 0]) == 1
    assert generation_depth([0, 2, 1]) == 3
    with pytest.raises(OutputRegistryError):
        generation_depth([-1])
    # out-dock-booking drew on out-returns-window (depth 1) and a human document (depth 0).
    match = registry.match(outputs["out-dock-booking"].text)
    assert match is not None
    assert match.generation_depth == 1
    assert match.at_depth([0, 1]).generation_depth == 2
