"""`corpusgov serve`: the service, as `make run` starts it."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.output import stdout
from pipelines.contract.report_server import start_report_server
from pipelines.settings import CONFIG_ENV, load_settings


def register(app: typer.Typer) -> None:
    app.command("serve", epilog="Example: corpusgov serve --port 3000")(serve)


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port of the Dagster UI.")] = 3000,
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Dagster workspace file.")] = Path(
        "workspace.yaml"
    ),
) -> None:
    """Start Dagster (UI and daemon) on 127.0.0.1 and serve the contract reports its checks link
    to. Ctrl-C stops both."""
    settings = load_settings(ctx.obj["config"])
    server = start_report_server(settings)
    stdout.print(
        f"Contract reports on {settings.reports.base_url}; Dagster UI on http://127.0.0.1:{port}",
        highlight=False,
    )
    started: list[subprocess.Popen[bytes]] = []

    def stop(_signum: int, _frame: object) -> None:
        for dagster in started:
            if dagster.poll() is None:
                os.killpg(dagster.pid, signal.SIGINT)

    # Caught before dagster dev starts, so it starts with both at their defaults: a signal this
    # process inherited as ignored (a shell runs background jobs with SIGINT ignored) would stay
    # ignored in dagster dev, which then never stops.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    dagster = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        # Its own process group: dagster dev only stops cleanly on a SIGINT sent to the group.
        start_new_session=True,
        # The code location and its runs read the config this command read (`--config` included).
        env={**os.environ, CONFIG_ENV: str(settings.config_path)},
    )
    started.append(dagster)
    try:
        code = dagster.wait()
    finally:
        server.shutdown()
    raise typer.Exit(code)
