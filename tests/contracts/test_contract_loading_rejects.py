import pytest

from contracts import (
    ContractError,
    ContractSchemaError,
    ContractSemanticError,
    ContractSyntaxError,
    lint_contract,
    load_contract,
)

CASES = [
    # fixture stem, error class, field, words the message must contain
    ("invalid_yaml", ContractSyntaxError, None, "line 3"),
    ("not_a_mapping", ContractSyntaxError, None, "not a mapping"),
    ("unknown_custom_property", ContractSemanticError, "customProperties[minimumGrades]", "minimumGrade"),
    ("bad_minimum_grade", ContractSemanticError, "customProperties[minimumGrade]", "A, B, C, F"),
    ("bad_violation_rate", ContractSemanticError, "customProperties[maxViolationRate]", "between 0 and 1"),
    ("bad_max_age", ContractSemanticError, "customProperties[maxAge]", "ISO 8601 duration"),
    (
        "bad_no_duplicate_content",
        ContractSemanticError,
        "customProperties[noDuplicateContent]",
        "true or false",
    ),
    (
        "bad_injection_policy",
        ContractSemanticError,
        "customProperties[injectionPolicy]",
        "allow, tag, quarantine",
    ),
    ("bad_chunking", ContractSemanticError, "customProperties[chunking].newAfterNChars", "maxCharacters"),
    ("bad_semver", ContractSemanticError, "version", "MAJOR.MINOR.PATCH"),
    ("version_as_number", ContractSchemaError, "version", "quote"),
    ("local_server_blank_path", ContractSemanticError, "servers[local].path", "corpus folder"),
    ("local_server_no_path", ContractSchemaError, "servers[local].path", "Add path"),
    ("no_documents_schema", ContractSemanticError, "schema", "name: documents"),
    (
        "misspelled_field",
        ContractSchemaError,
        "schema[documents].properties[text].logicalTypeOption",
        "spelling",
    ),
    (
        "unknown_logical_type",
        ContractSchemaError,
        "schema[documents].properties[title].logicalType",
        "string",
    ),
    (
        "text_bounds_reversed",
        ContractSemanticError,
        "schema[documents].properties[text].logicalTypeOptions",
        "minLength 1000",
    ),
    (
        "quality_two_operators",
        ContractSchemaError,
        "schema[documents].properties[language].quality[0]",
        "exactly one",
    ),
    (
        "quality_unsupported_metric",
        ContractSemanticError,
        "schema[documents].properties[language].quality[0].metric",
        "invalidValues",
    ),
    (
        "vector_without_dimensions",
        ContractSchemaError,
        "schema[documents].properties[embedding].logicalTypeOptions.dimensions",
        "Add dimensions",
    ),
]


@pytest.mark.parametrize(("stem", "error_class", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_contract_raises_error_naming_file_and_field(
    fixture_contract, stem, error_class, field, words
) -> None:
    path = fixture_contract(stem)

    with pytest.raises(ContractError) as caught:
        load_contract(path)

    error = caught.value
    assert type(error) is error_class
    assert (error.path, error.field) == (path, field)
    assert words in error.message
    text = str(error)
    assert "\n" not in text
    assert text.startswith(f"{path}: {field}: " if field else f"{path}: ")


@pytest.mark.parametrize(("stem", "error_class", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_lint_reports_the_same_problem_once(fixture_contract, stem, error_class, field, words) -> None:
    path = fixture_contract(stem)

    problems = lint_contract(path)

    # One fault, one problem: later gates (pydantic, corpusgov rules) do not echo the schema's report.
    assert [(p.path, p.field) for p in problems] == [(path, field)]
    assert words in problems[0].message


def test_lint_reports_every_problem_in_a_file(fixture_contract) -> None:
    problems = lint_contract(fixture_contract("many_problems"))

    assert {p.field for p in problems} == {
        "version",
        "customProperties[injectionPolicy]",
        "customProperties[colour]",
    }


def test_lint_reports_unreadable_file_instead_of_raising(tmp_path) -> None:
    missing = tmp_path / "nope.odcs.yaml"

    problems = lint_contract(missing)

    assert len(problems) == 1 and "cannot read" in problems[0].message
    with pytest.raises(ContractSyntaxError):
        load_contract(missing)


def test_duplicate_custom_property_is_refused(fixture_contract, tmp_path) -> None:
    path = tmp_path / "twice.odcs.yaml"
    path.write_text(
        fixture_contract("minimal_valid").read_text() + "  - property: minimumGrade\n    value: A\n"
    )

    with pytest.raises(ContractSemanticError) as caught:
        load_contract(path)

    assert caught.value.field == "customProperties[minimumGrade]"
