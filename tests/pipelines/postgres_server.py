"""A throwaway PostgreSQL cluster from Debian's server binaries, on a loopback port, for the
deployment tests: `initdb` into a temp dir, `pg_ctl start`, one database, removed afterwards.

PostgreSQL refuses to run as root; as root (CI) the cluster runs as the `postgres` user the
Debian package creates. Missing binaries skip the test, or fail it under
CORPUSGOV_REQUIRE_POSTGRES (.ci/run sets it; `make test` installs the package as root).
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipelines.dagster_service import free_port

USER = "corpusgov"
PASSWORD = "corpusgov-test"  # a throwaway cluster on 127.0.0.1, removed with the test


@dataclass(frozen=True)
class PostgresServer:
    port: int
    database: str

    def env(self) -> dict[str, str]:
        """deploy/dagster.yaml's variables for this server."""
        return {
            "CORPUSGOV_PG_HOST": "127.0.0.1",
            "CORPUSGOV_PG_PORT": str(self.port),
            "CORPUSGOV_PG_USER": USER,
            "CORPUSGOV_PG_PASSWORD": PASSWORD,
            "CORPUSGOV_PG_DB": self.database,
        }

    def ledger_url(self, database: str) -> str:
        """corpusgov's ledger_url for `database`: no password in it (PGPASSWORD carries it)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, database: str) -> None:
        import psycopg2  # installed with dagster-postgres

        con = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname=self.database
        )
        try:
            con.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with con.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{database}"')
        finally:
            con.close()

    def query(self, sql: str, database: str | None = None) -> list[tuple]:
        import psycopg2  # installed with dagster-postgres

        with (
            psycopg2.connect(
                host="127.0.0.1",
                port=self.port,
                user=USER,
                password=PASSWORD,
                dbname=database or self.database,
            ) as con,
            con.cursor() as cursor,
        ):
            cursor.execute(sql)
            return cursor.fetchall()


def _server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def postgres_server(database: str = "dagster") -> Iterator[PostgresServer]:
    binaries = _server_binaries()
    if binaries is None:
        if os.environ.get("CORPUSGOV_REQUIRE_POSTGRES"):
            pytest.fail(
                "PostgreSQL is required here (CORPUSGOV_REQUIRE_POSTGRES): apt-get install postgresql"
            )
        pytest.skip("Debian's postgresql is not installed (make test installs it as root)")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Not under pytest's tmp dir: as root that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="corpusgov-pg-"))
    root.chmod(0o755)
    cluster, password_file = root / "cluster", root / "password"
    password_file.write_text(PASSWORD)
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(password_file, "postgres")
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(binaries / "initdb"),
            "-D",
            str(cluster),
            "-U",
            USER,
            "-A",
            "scram-sha-256",
            f"--pwfile={password_file}",
        )
        run(
            str(binaries / "pg_ctl"),
            "-D",
            str(cluster),
            "-l",
            str(root / "server.log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
            "start",
        )
        server = PostgresServer(port=port, database=database)
        subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, database],
            check=True,
            capture_output=True,
            timeout=60,
            env={**os.environ, "PGPASSWORD": PASSWORD},
        )
        yield server
    finally:
        if (cluster / "postmaster.pid").exists():
            subprocess.run(
                [*as_postgres, str(binaries / "pg_ctl"), "-D", str(cluster), "-m", "fast", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def lock_held_elsewhere(url: str, key: int) -> Iterator[None]:
    """Another process (another machine, as far as corpusgov can tell) holding the advisory lock
    `key` of the database at `url` for the block."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import psycopg2, sys, time; con = psycopg2.connect(sys.argv[1]); cur = con.cursor(); "
            "cur.execute('SELECT pg_advisory_lock(%s)', [int(sys.argv[2])]); print('held', flush=True); "
            "time.sleep(60)",
            url,
            str(key),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()
