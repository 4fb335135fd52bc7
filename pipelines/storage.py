"""Where corpusgov's files are: a local folder, or S3-compatible object storage.

Two settings in corpusgov.yaml may be `s3://bucket/prefix`:
- `index_uri` (default `<data_dir>/lancedb`). LanceDB reads and writes there itself, with the
  options `lancedb_storage_options` gives it. The few things corpusgov reads straight from the
  table's folder go through this module: the names of the version manifests and tag files, the
  data files and their sizes (what lets `corpusgov status` and a no-op ingest check the index
  without opening LanceDB), and moving or removing a table that cannot be opened.
- `staging_uri` (default `<data_dir>/staging`): the files a run's steps hand each other
  (pipelines/run/staging.py, pipelines/run/spool.py). `output_file` makes each appear whole or not
  at all, through a rename (in a bucket, a server-side copy).

For S3 the endpoint, region and credentials come from the environment, as for the AWS tools:
`AWS_ENDPOINT_URL` (an S3-compatible server, e.g. `http://127.0.0.1:9000`; plain HTTP is allowed
when it says `http://`), `AWS_REGION` or `AWS_DEFAULT_REGION`, and `AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY` (or any other source of the AWS default credential chain).

A bucket that fails (its server does not answer, it refuses the credentials, it does not exist)
is one StorageError that says which, naming the server, never a credential (`store_fault`): a
run asks the bucket once before it walks a source (`require_reachable`), and LanceDB's calls
on the index, whose errors are a Rust error's text, go through `bucket_faults`.

The writer lock stays in `data_dir`, a local (or shared POSIX) folder, with a shared ledger's
own lock beside it in PostgreSQL: the single writer is decided there, never in the bucket.
"""

import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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


def folder_size(uri: str) -> int:
    """The bytes of every file under the folder at `uri`, in its subfolders too; 0 when it does not
    exist (what `index cleanup` measures before and after it removes versions)."""
    if not is_remote(uri):
        total = 0
        for folder, _, names in os.walk(uri):
            for name in names:
                with contextlib.suppress(FileNotFoundError):  # removed while we walk
                    total += os.stat(os.path.join(folder, name)).st_size
        return total
    from pyarrow import fs

    try:
        infos = _s3().get_file_info(fs.FileSelector(_key(uri), recursive=True, allow_not_found=True))
    except OSError as err:
        raise _unreachable(uri, err) from err
    return sum(int(info.size or 0) for info in infos if info.type == fs.FileType.File)


def folder_exists(uri: str) -> bool:
    """Whether anything is stored under `uri` (object stores have no empty folders)."""
    if not is_remote(uri):
        return Path(uri).exists()
    from pyarrow import fs

    try:
        return bool(_s3().get_file_info(fs.FileSelector(_key(uri), allow_not_found=True)))
    except OSError as err:
        raise _unreachable(uri, err) from err


def _unreachable(uri: str, err: BaseException) -> StorageError:
    """The one line for a request on `uri` that the store refused or never answered: which of the
    two, from the error's words, and what to check for it."""
    cause = first_line(err)
    if any(word in cause for word in _REFUSED_CREDENTIALS):
        return StorageError(
            f"The S3 server {_server()} refused the credentials for {uri} ({cause}). Check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS profile) in the environment, "
            f"and the key's rights on the bucket {_bucket(uri)}, then run the command again."
        )
    if any(word in cause for word in _NO_ANSWER):
        return StorageError(
            f"The S3 server {_server()} cannot be reached for {uri} ({cause}). Check that it is "
            "running and that AWS_ENDPOINT_URL points at it, then run the command again."
        )
    return StorageError(
        f"{uri} cannot be read ({cause}). Check AWS_ENDPOINT_URL and the credentials in "
        "the environment, and that the bucket exists."
    )


# The words of pyarrow's (the AWS SDK's) errors for each fault.
_REFUSED_CREDENTIALS = ("ACCESS_DENIED", "SIGNATURE_DOES_NOT_MATCH", "INVALID_ACCESS_KEY", "EXPIRED_TOKEN")
_NO_ANSWER = ("NETWORK_CONNECTION", "Could not connect", "Couldn't connect", "timed out", "resolve host")


def _server() -> str:
    """Where the S3 server is, as a person may see it: AWS_ENDPOINT_URL's scheme, host and port
    (never a user or password written into it), or AWS's own."""
    endpoint = _endpoint()
    if not endpoint:
        return f"of AWS (region {_region() or 'from the AWS profile'})"
    parsed = urlparse(endpoint)
    host = parsed.hostname or ""
    return f"at {parsed.scheme}://{host}{f':{parsed.port}' if parsed.port else ''}"


def _bucket(uri: str) -> str:
    return _key(uri).split("/", 1)[0]


def store_fault(uri: str) -> StorageError | None:
    """Whether the bucket holding `uri` is what fails, asked in one request (HeadBucket): the
    error that says so when its server does not answer, refuses the credentials or has no such
    bucket; None when the bucket is there. A local `uri` fails only when a file stands where its
    folder belongs."""
    if not is_remote(uri):
        if Path(uri).exists() and not Path(uri).is_dir():
            return StorageError(
                f"{uri} is a file where the index folder belongs. Move it away, or point index_uri "
                "(or data_dir) in corpusgov.yaml elsewhere, then run the command again."
            )
        return None
    from pyarrow import fs

    bucket = _bucket(uri)
    try:
        info = _s3().get_file_info(bucket)
    except OSError as err:
        return _unreachable(uri, err)
    if info.type == fs.FileType.NotFound:
        return StorageError(
            f"The bucket {bucket} of {uri} does not exist on the S3 server {_server()}. Create it "
            f"(e.g. `aws s3 mb s3://{bucket}`), or correct the s3:// address in corpusgov.yaml, "
            "then run the command again."
        )
    return None


def require_reachable(uri: str) -> None:
    """Before a run parses anything: the bucket holding `uri` answers, takes the credentials and
    exists (one request; a local folder needs nothing). Otherwise a StorageError that says which."""
    fault = store_fault(uri)
    if fault is not None:
        raise fault


@contextmanager
def bucket_faults(uri: str) -> Iterator[None]:
    """Another library's calls on what is stored at `uri` (LanceDB's, whose errors are a Rust
    error's text): when one fails because of the bucket, one StorageError that says so and what
    to do, found by asking the bucket (`store_fault`); any other failure stays the library's."""
    try:
        yield
    except (OSError, RuntimeError, ValueError) as err:
        fault = store_fault(uri)
        if fault is not None:
            raise fault from err
        raise


def read_text(uri: str) -> str:
    if not is_remote(uri):
        return Path(uri).read_text(encoding="utf-8")
    with reading(uri), _s3().open_input_stream(_key(uri)) as stream:
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


def file_exists(uri: str) -> bool:
    if not is_remote(uri):
        return Path(uri).is_file()
    from pyarrow import fs

    try:
        return bool(_s3().get_file_info(_key(uri)).type == fs.FileType.File)
    except OSError as err:
        raise _unreachable(uri, err) from err


def name_of(uri: str) -> str:
    """The last part of `uri`: a file's or a folder's name."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def folder_of(uri: str) -> str:
    """The folder that holds the file at `uri`."""
    return uri.rstrip("/").rsplit("/", 1)[0]


@contextmanager
def output_file(uri: str) -> Iterator[Any]:
    """A binary file to write at `uri` that appears whole when the block ends without an error,
    and not at all otherwise: it is written as `<name>.partial`, then renamed (in a bucket, a
    server-side copy; an upload cut short completes, if at all, under the `.partial` name, which
    no reader looks for). Written as a stream: what a run holds in memory stays bounded."""
    if not is_remote(uri):
        target = Path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("wb") as local:
                yield local
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return
    store, partial_key = _s3(), _key(uri) + ".partial"
    try:
        remote = store.open_output_stream(partial_key)
    except OSError as err:
        raise _unwritable(uri, err) from err
    try:
        yield remote
        remote.close()
        store.move(partial_key, _key(uri))
    except BaseException as failure:
        with contextlib.suppress(OSError):
            remote.close()
            store.delete_file(partial_key)
        if isinstance(failure, OSError):
            raise _unwritable(uri, failure) from failure
        raise


def _unwritable(uri: str, err: OSError) -> StorageError:
    return StorageError(
        f"Cannot write {uri} ({first_line(err)}). Check AWS_ENDPOINT_URL and the credentials in the "
        "environment, and that the bucket exists; nothing of this run was committed."
    )


def input_file(uri: str) -> Any:
    """A seekable file at `uri` to read (Parquet reads its footer first)."""
    if not is_remote(uri):
        return open(uri, "rb")  # noqa: SIM115 - the caller closes it (a ParquetFile takes it over)
    try:
        return _s3().open_input_file(_key(uri))
    except OSError as err:
        raise _unreachable(uri, err) from err


@contextmanager
def reading(uri: str) -> Iterator[None]:
    """Reads of `uri` that fail in the store are one StorageError naming it, not a traceback."""
    try:
        yield
    except OSError as err:
        if not is_remote(uri):
            raise
        raise _unreachable(uri, err) from err


def remove_file(uri: str) -> None:
    if not is_remote(uri):
        Path(uri).unlink(missing_ok=True)
        return
    if file_exists(uri):
        _s3().delete_file(_key(uri))


def subfolders_older_than(uri: str, cutoff: float) -> list[str]:
    """The folders directly under `uri` whose newest file is older than `cutoff` (seconds since
    the epoch): staging folders of runs that never committed."""
    if not is_remote(uri):
        try:
            entries = list(os.scandir(uri))
        except OSError:
            return []
        old = []
        for entry in entries:
            try:
                if entry.is_dir() and entry.stat().st_mtime < cutoff:
                    old.append(entry.path)
            except OSError:
                continue
        return old
    from pyarrow import fs

    try:
        infos = _s3().get_file_info(fs.FileSelector(_key(uri), allow_not_found=True, recursive=True))
    except OSError:
        return []
    newest: dict[str, float] = {}
    root = _key(uri) + "/"
    for info in infos:
        if info.type != fs.FileType.File or not info.path.startswith(root) or info.mtime is None:
            continue
        folder = info.path[len(root) :].split("/", 1)[0]
        newest[folder] = max(newest.get(folder, 0.0), info.mtime.timestamp())
    return [join(uri, folder) for folder, mtime in newest.items() if mtime < cutoff]
