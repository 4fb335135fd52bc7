"""Data contracts for the document corpus: load ODCS v3 files and lint them.

Enforcement lives in contracts.enforcement and is imported explicitly, because it pulls in
Great Expectations (seconds to import) and most callers only need the loaded contract.
"""

from pathlib import Path

from contracts.document_contract import (
    BudgetVerdict,
    ChunkingPolicy,
    ContractProblem,
    DocumentContract,
    FileLimits,
    contract_ref,
)
from contracts.errors import (
    ContractError,
    ContractSchemaError,
    ContractSemanticError,
    ContractSyntaxError,
    DocumentFrameError,
)
from contracts.loading import lint_contract, lint_contract_set, load_contract

DEFAULT_CONTRACT_PATH: Path = Path(__file__).with_name("default.odcs.yaml")
STRICT_CONTRACT_PATH: Path = Path(__file__).with_name("strict.odcs.yaml")

__all__ = [
    "BudgetVerdict",
    "DEFAULT_CONTRACT_PATH",
    "STRICT_CONTRACT_PATH",
    "ChunkingPolicy",
    "ContractError",
    "ContractProblem",
    "ContractSchemaError",
    "ContractSemanticError",
    "ContractSyntaxError",
    "DocumentContract",
    "DocumentFrameError",
    "FileLimits",
    "contract_ref",
    "lint_contract",
    "lint_contract_set",
    "load_contract",
]
