"""Where the index's files are: a local folder, or S3-compatible object storage.

`index_uri` in corpusgov.yaml (default `<data_dir>/lancedb`) may be `s3://bucket/prefix`. LanceDB
reads and writes there itself, with the options `lancedb_storage_options` gives it. The few things
corpusgov reads straight from the table's folder go through this module: the names of the version
manifests and tag files, the data files and their sizes (what lets `corpusgov status` and a no-op
ingest check the index without opening LanceDB), and moving or removing a table that cannot be
opened.

For S3 the endpoint, region and credentials come from the environment, as for the AWS tools:
`AWS_ENDPOINT_URL` (an S3-compatible server, e.g. `http://127.0.0.1:9000`; plain HTTP is allowed
when it says `http://`), `AWS_REGION` or `AWS_DEFAULT_REGION`, and `AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY` (or any other source of the AWS default credential chain).

The ledger, the writer lock and the staging files stay in `data_dir`, a local (or shared POSIX)
folder: the single writer is decided there, never in the bucket.
"""

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipelines.errors import ConfigError, StorageError, first_line

REMOTE_SCHEMES = ("s3://",)


def is_remote(uri: str) -> bool:
    return uri.startswith(REMOTE_SCHEMES)


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *parts])


def lancedb_storage_options(uri: str) -> dict[str, str]:
    """LanceDB's options for `uri`: the endpoint and region of the environment, for S3."""
    if not is_remote(uri):
        return {}
    options: dict[str, str] = {}
    endpoint = _endpoint()
    if endpoint:
        options["aws_endpoint"] = endpoint
        if endpoint.startswith("http://"):
            options["allow_http"] = "true"
    region = _region()
    if region:
        options["aws_region"] = region
    return options


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def _endpoint() -> str:
    """AWS_ENDPOINT_URL, checked: a URL with its scheme, as the AWS tools take it."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"AWS_ENDPOINT_URL={endpoint!r} has no scheme. Write it as a URL, e.g. http://127.0.0.1:9000."
        )
    return endpoint


def _s3() -> Any:
    return _s3_for(_endpoint(), _region())


@cache
def _s3_for(endpoint: str, region: str | None) -> Any:
    """One S3 file system per endpoint and region (it resolves the credentials once)."""
    from pyarrow import fs

    parsed = urlparse(endpoint)
    if parsed.path.strip("/"):
        raise ConfigError(
            f"AWS_ENDPOINT_URL={endpoint!r} has a path; give the server's address only "
            "(the bucket and prefix go in index_uri)."
        )
    try:
        return fs.S3FileSystem(
            endpoint_override=parsed.netloc or None, scheme=parsed.scheme or "https", region=region
        )
    except (OSError, ValueError) as err:
        raise ConfigError(f"The S3 settings in the environment cannot be used: {err}") from err


def _key(uri: str) -> str:
    """`s3://bucket/a/b` -> `bucket/a/b`, the path pyarrow's S3 file system takes."""
    return uri.split("://", 1)[1].rstrip("/")


def list_files(uri: str, strict: bool = False) -> dict[str, int] | None:
    """The files directly in the folder at `uri`, with their sizes; None when it does not exist
    or (unless `strict`) cannot be listed."""
    if not is_remote(uri):
        try:
            return {entry.name: entry.stat().st_size for entry in os.scandir(uri) if entry.is_file()}
        except FileNotFoundError:
            return None
        except OSError:
            if strict:
                raise
            return None
    from pyarrow import fs

    try:
        infos = _s3().get_file_info(fs.FileSelector(_key(uri), allow_not_found=True))
    except OSError as err:
        if strict:
            raise _unreachable(uri, err) from err
        return None
    files = {info.base_name: int(info.size or 0) for info in infos if info.type == fs.FileType.File}
    return files if infos else None


def folder_exists(uri: str) -> bool:
    """Whether anything is stored under `uri` (object stores have no empty folders)."""
    if not is_remote(uri):
        return Path(uri).exists()
    from pyarrow import fs

    try:
        return bool(_s3().get_file_info(fs.FileSelector(_key(uri), allow_not_found=True)))
    except OSError as err:
        raise _unreachable(uri, err) from err


def _unreachable(uri: str, err: OSError) -> StorageError:
    return StorageError(
        f"The index at {uri} cannot be listed ({first_line(err)}). Check AWS_ENDPOINT_URL and the "
        "credentials in the environment, and that the bucket exists."
    )


def read_text(uri: str) -> str:
    if not is_remote(uri):
        return Path(uri).read_text(encoding="utf-8")
    with _s3().open_input_stream(_key(uri)) as stream:
        return bytes(stream.read()).decode("utf-8")


def remove_folder(uri: str) -> None:
    if not is_remote(uri):
        if Path(uri).exists():
            shutil.rmtree(uri)
        return
    store = _s3()
    if folder_exists(uri):
        store.delete_dir(_key(uri))


def move_folder(uri: str, target: str) -> None:
    """Move a folder (a damaged table, set aside); within one store: a local folder to a local
    one, an S3 prefix to another prefix of the same bucket."""
    if not is_remote(uri):
        shutil.move(uri, target)
        return
    from pyarrow import fs

    store = _s3()
    fs.copy_files(_key(uri), _key(target), source_filesystem=store, destination_filesystem=store)
    store.delete_dir(_key(uri))
