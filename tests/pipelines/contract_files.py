"""Write variants of the default contract for tests: change custom properties or schema."""

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import DEFAULT_CONTRACT


def write_contract(
    path: Path,
    version: str = "1.0.0",
    custom: dict[str, Any] | None = None,
    min_length: int | None = None,
    extra_properties: list[dict[str, Any]] | None = None,
) -> Path:
    data = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    data["version"] = version
    data.pop("servers", None)
    props = {p["property"]: p for p in data.get("customProperties", [])}
    for key, value in (custom or {}).items():
        props[key] = {"property": key, "value": value}
    data["customProperties"] = list(props.values())
    documents = data["schema"][0]
    if min_length is not None:
        text = next(p for p in documents["properties"] if p["name"] == "text")
        text["logicalTypeOptions"]["minLength"] = min_length
    documents["properties"].extend(extra_properties or [])
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def use_contract(project: Path, contract: Path) -> None:
    """Point the project's single source `docs` at `contract`."""
    (project / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {contract}\n"
    )
