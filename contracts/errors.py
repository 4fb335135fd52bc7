"""Errors about a data contract or about what it is enforced against.

Every error names the file and the (dotted) field it is about and says what to do, so the
one-line str() is enough for a user to fix the contract without reading a traceback.
"""

from pathlib import Path


class ContractError(Exception):
    """A data contract cannot be used. str() is "<file>: <field>: <problem>. <what to do>"."""

    def __init__(self, path: Path, field: str | None, problem: str, action: str) -> None:
        self.path: Path = path
        self.field: str | None = field
        self.problem: str = _sentence(problem)
        self.action: str = _sentence(action)
        super().__init__(self.__str__())

    @property
    def message(self) -> str:
        """The problem and what to do, without the file and field."""
        return f"{self.problem} {self.action}"

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}: " if self.field else f"{self.path}: "
        # One line, always: YAML and JSON-schema messages can carry newlines.
        return " ".join(f"{where}{self.message}".split())


class ContractSyntaxError(ContractError):
    """The file is unreadable or not a YAML mapping."""


class ContractSchemaError(ContractError):
    """The file breaks the ODCS v3 JSON schema or the ODCS pydantic model."""


class ContractSemanticError(ContractError):
    """The file is valid ODCS but not a usable corpusgov document contract."""


class DocumentFrameError(ContractError):
    """The documents handed to enforcement lack a column or a usable doc_id."""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else f"{text}."
