"""The shipped contracts pass the ODCS ecosystem's own linter, not only corpusgov's."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import contracts

SHIPPED = sorted(Path(contracts.__file__).parent.glob("*.odcs.yaml"))
DATACONTRACT = Path(sys.executable).with_name("datacontract")
# Loaded at interpreter start in the subprocess: any non-local connection fails the lint run.
_NO_NETWORK = textwrap.dedent("""
    import socket

    _connect = socket.socket.connect

    def _refuse(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"network disabled in this test: {address}")
        return _connect(self, address, *args, **kwargs)

    socket.socket.connect = _refuse
""")


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("offline_site")
    (site / "sitecustomize.py").write_text(_NO_NETWORK)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }


def test_contracts_folder_has_contracts() -> None:
    assert {p.name for p in SHIPPED} >= {"default.odcs.yaml", "strict.odcs.yaml"}


@pytest.mark.parametrize("contract", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_contract_passes_datacontract_lint(contract, offline_env) -> None:
    # datacontract-cli 1.2.x validates against its bundled ODCS schema for the contract's apiVersion;
    # --no-inline-references keeps it from fetching authoritativeDefinitions.
    result = subprocess.run(
        [str(DATACONTRACT), "lint", "--all-errors", "--no-inline-references", str(contract)],
        capture_output=True,
        text=True,
        env=offline_env,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_offline_guard_really_blocks_the_network(offline_env) -> None:
    probe = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=offline_env)

    assert "network disabled in this test" in result.stderr
