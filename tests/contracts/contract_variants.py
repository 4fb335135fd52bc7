"""Contracts that run one rule alone: a loaded contract with every other rule switched off."""

import dataclasses
from typing import Any

from contracts import DocumentContract

_EVERY_RULE_OFF: dict[str, Any] = {
    "required_fields": (),
    "field_types": {},
    "min_text_chars": None,
    "max_text_chars": None,
    "allowed_mime_types": None,
    "allowed_languages": None,
    "minimum_grade": None,
    "max_age": None,
    "no_duplicate_content": False,
}


def with_only(contract: DocumentContract, **rules: Any) -> DocumentContract:
    """`contract` with no rule but `rules` (e.g. `max_age=timedelta(days=30)`)."""
    unknown = set(rules) - set(_EVERY_RULE_OFF)
    assert not unknown, f"not a rule: {unknown}"
    return dataclasses.replace(contract, **{**_EVERY_RULE_OFF, **rules})
