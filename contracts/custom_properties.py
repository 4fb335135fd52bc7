"""Read a contract's customProperties: the corpusgov settings ODCS has no field for.

Each known custom property becomes one DocumentContract keyword; a value corpusgov cannot use
is reported (through the caller's problem callback) and left out, so the contract's default holds.
"""

import math
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from open_data_contract_standard.model import CustomProperty

from contracts.document_contract import (
    DETECTION_POLICIES,
    PII_POLICIES,
    SEVERITIES,
    ChunkingPolicy,
    FileLimits,
)
from contracts.odcs_schema import shorten
from corpus_quality.vocabulary import Grade, ProvenanceLabel

# Reports one problem: the field it is about, what is wrong, what to do.
ReportProblem = Callable[[str, str, str], None]
# Reads one custom property's value at a field; None after reporting why it is unusable.
_ReadValue = Callable[[str, Any], Any]

_CHUNKING_KEYS = {
    "maxCharacters": "max_characters",
    "newAfterNChars": "new_after_n_chars",
    "combineTextUnderNChars": "combine_text_under_n_chars",
}
_LIMIT_KEYS = {
    "maxFileBytes": "max_file_bytes",
    "maxUnpackedBytes": "max_unpacked_bytes",
    "maxCompressionRatio": "max_compression_ratio",
    "maxTextChars": "max_text_chars",
    "maxParseSeconds": "max_parse_seconds",
    "maxParseMemoryBytes": "max_parse_memory_bytes",
}
_FRACTIONAL_LIMITS = frozenset({"maxCompressionRatio", "maxParseSeconds"})
# ISO 8601 durations as ODCS uses them (P365D, P2Y, P1Y6M, PT12H). A timedelta has no calendar,
# so a year counts as 365 days and a month as 30: close enough for a freshness rule.
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class CustomPropertiesReader:
    """Turns customProperties into DocumentContract keywords, reporting each unusable one."""

    def __init__(self, problem: ReportProblem) -> None:
        self.problem = problem
        # custom property -> (DocumentContract keyword, reader of its value), in the order the
        # unknown-property message lists them.
        self._readers: dict[str, tuple[str, _ReadValue]] = {
            "minimumGrade": ("minimum_grade", self._grade),
            "injectionPolicy": ("injection_policy", self._detection_policy),
            "aiGeneratedPolicy": ("ai_generated_policy", self._detection_policy),
            "piiPolicy": ("pii_policy", self._pii_policy),
            "declaredProvenance": ("source_provenance", self._declared_provenance),
            "maxViolationRate": ("max_violation_rate", self._violation_rate),
            "chunking": ("chunking", self._chunking),
            "limits": ("limits", self._limits),
            "severity": ("severity", self._severity),
            "maxAge": ("max_age", self._duration),
            "noDuplicateContent": ("no_duplicate_content", self._no_duplicate_content),
            "maxAiGeneratedShare": ("max_ai_generated_share", self._ai_generated_share),
            "maxGenerationDepth": ("max_generation_depth", self._generation_depth),
        }

    def read(self, custom_properties: Sequence[CustomProperty]) -> dict[str, Any]:
        """DocumentContract keywords for every usable custom property; minimum_grade always."""
        settings: dict[str, Any] = {"minimum_grade": None}
        seen: set[str] = set()
        for index, custom in enumerate(custom_properties):
            name = custom.property or ""
            field = f"customProperties[{name or index}]"
            if name in seen:
                self.problem(field, f"{name} is set twice", "Keep one value")
                continue
            seen.add(name)
            if name not in self._readers:
                self.problem(
                    field,
                    f"unknown custom property {name!r}",
                    f"Use one of: {', '.join(self._readers)} (or fix its spelling)",
                )
                continue
            keyword, read_value = self._readers[name]
            settings[keyword] = read_value(field, custom.value)
        return {k: v for k, v in settings.items() if v is not None or k == "minimum_grade"}

    def _grade(self, field: str, value: Any) -> Grade | None:
        grade = self._choice(field, value, tuple(Grade), "grade")
        return Grade(grade) if grade else None

    def _detection_policy(self, field: str, value: Any) -> str | None:
        return self._choice(field, value, DETECTION_POLICIES, "policy")

    def _pii_policy(self, field: str, value: Any) -> str | None:
        return self._choice(field, value, PII_POLICIES, "policy")

    def _severity(self, field: str, value: Any) -> str | None:
        return self._choice(field, value, SEVERITIES, "severity")

    def _declared_provenance(self, field: str, value: Any) -> ProvenanceLabel | None:
        label = self._choice(field, value, ProvenanceLabel.declarable(), "provenance label")
        return ProvenanceLabel(label) if label else None

    def _choice(self, field: str, value: Any, allowed: tuple[str, ...], what: str) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.problem(field, f"{value!r} is not a {what} corpusgov knows", f"Use one of: {', '.join(allowed)}")
        return None

    def _violation_rate(self, field: str, value: Any) -> float | None:
        return self._fraction(
            field,
            value,
            "rate",
            "Write a number such as 0.2 (20% of documents may violate); 1.0 never blocks",
        )

    def _ai_generated_share(self, field: str, value: Any) -> float | None:
        return self._fraction(
            field,
            value,
            "share",
            "Write a number such as 0.1 (at most 10% of indexed documents AI-generated)",
        )

    def _fraction(self, field: str, value: Any, what: str, action: str) -> float | None:
        """A finite number from 0 to 1, as a float."""
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 <= value <= 1
        ):
            return float(value)
        self.problem(field, f"{value!r} is not a {what} between 0 and 1", action)
        return None

    def _generation_depth(self, field: str, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.problem(
            field,
            f"{value!r} is not a whole number >= 0",
            "Write 1 to admit the RAG app's own outputs but not outputs built on them",
        )
        return None

    def _no_duplicate_content(self, field: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        self.problem(
            field,
            f"{value!r} is not true or false",
            "Write true to quarantine documents whose content repeats another's in the source",
        )
        return None

    def _duration(self, field: str, value: Any) -> timedelta | None:
        match = _ISO_DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            self.problem(
                field,
                f"{shorten(repr(value))} is not an ISO 8601 duration",
                "Write a duration such as P365D, P2Y or P18M (a year counts as 365 days, a month as 30)",
            )
            return None
        parts = {k: float(v) for k, v in match.groupdict(default="0").items()}
        age = timedelta(
            days=parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"],
            hours=parts["hours"],
            minutes=parts["minutes"],
            seconds=parts["seconds"],
        )
        if age <= timedelta(0):
            self.problem(
                field,
                f"{value!r} is zero: every document would be stale",
                "Write a positive duration such as P365D, or remove maxAge",
            )
            return None
        return age

    def _positive_numbers(
        self,
        field: str,
        value: Any,
        keys: dict[str, str],
        what: str,
        example: str,
        fractional: frozenset[str] = frozenset(),
    ) -> dict[str, float] | None:
        """A mapping of known keys to positive numbers (whole unless the key is in `fractional`),
        as attribute -> number; None after reporting every problem."""
        if not isinstance(value, dict):
            self.problem(
                field,
                f"{shorten(repr(value))} is not a mapping",
                f"Write a mapping with any of {', '.join(keys)}",
            )
            return None
        ok = True
        for key in sorted(set(value) - set(keys)):
            self.problem(f"{field}.{key}", f"unknown {what} {key!r}", f"Use {', '.join(keys)}")
            ok = False
        arguments: dict[str, float] = {}
        for key, attribute in keys.items():
            if key not in value:
                continue
            number = value[key]
            whole = isinstance(number, int) and not isinstance(number, bool)
            real = key in fractional and isinstance(number, float) and math.isfinite(number)
            if not (whole or real) or number <= 0:
                kind = "positive number" if key in fractional else "positive whole number"
                self.problem(f"{field}.{key}", f"{number!r} is not a {kind}", f"Write e.g. {example}")
                ok = False
                continue
            arguments[attribute] = number
        return arguments if ok else None

    def _limits(self, field: str, value: Any) -> FileLimits | None:
        arguments = self._positive_numbers(
            field,
            value,
            _LIMIT_KEYS,
            "limit",
            "maxFileBytes: 67108864 (64 MiB) or maxParseSeconds: 60",
            _FRACTIONAL_LIMITS,
        )
        return None if arguments is None else FileLimits(**arguments)  # type: ignore[arg-type]

    def _chunking(self, field: str, value: Any) -> ChunkingPolicy | None:
        arguments = self._positive_numbers(
            field, value, _CHUNKING_KEYS, "chunking setting", "maxCharacters: 800"
        )
        ok = True
        if arguments is None:
            return None
        policy = ChunkingPolicy(**arguments)  # type: ignore[arg-type]
        for key, attribute in (
            ("newAfterNChars", "new_after_n_chars"),
            ("combineTextUnderNChars", "combine_text_under_n_chars"),
        ):
            if getattr(policy, attribute) > policy.max_characters:
                self.problem(
                    f"{field}.{key}",
                    f"{getattr(policy, attribute)} is above maxCharacters {policy.max_characters}",
                    "Keep it at or below maxCharacters",
                )
                ok = False
        return policy if ok else None
