"""Discover: every file under a source becomes a `DiscoveredFile`, readable or rejected with a reason.

The MIME type comes from the bytes (magic numbers, then text sniffing), never from the file name
alone: a binary file named `.txt` is rejected, an HTML page named `.txt` is parsed as HTML.
"""

import glob
import hashlib
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

from pipelines.settings import SourceConfig

HTML = "text/html"
MARKDOWN = "text/markdown"
PLAIN_TEXT = "text/plain"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PARSEABLE_MIME_TYPES: tuple[str, ...] = (HTML, MARKDOWN, PLAIN_TEXT, PDF, DOCX)

# Formats we recognise by their magic number but do not parse: rejected as unsupported.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
)
_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown"})
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class DiscoveredFile:
    """One file found under a source. `rejection` is a reason code when it cannot be read."""

    doc_id: str
    source: str
    path: str  # relative to the source root, forward slashes
    absolute_path: Path
    size: int
    content_hash: str | None
    mime_type: str | None
    rejection: str | None = None
    rejection_detail: str | None = None

    @property
    def rejected(self) -> bool:
        return self.rejection is not None


def sniff_mime_type(data: bytes, file_name: str) -> str | None:
    """The MIME type of `data`, or None if it is binary we cannot parse."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return DOCX if _is_docx(data) else "application/zip"
    for signature, mime in _BINARY_SIGNATURES:
        if data.startswith(signature):
            return mime
    head = data[:_SNIFF_BYTES]
    if not _looks_like_text(head):
        return None
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(marker in lowered[:1024] for marker in _HTML_MARKERS):
        return HTML
    if Path(file_name).suffix.lower() in _MARKDOWN_SUFFIXES:
        return MARKDOWN
    return PLAIN_TEXT


def decode_text(data: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Legacy Windows text is common in enterprise shares; undecodable bytes are kept visible
        # as U+FFFD so the encoding-health signal can see them.
        return data.decode("cp1252", errors="replace")


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control <= max(1, len(head) // 100)


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _read_at_most(path: Path, limit: int | None) -> bytes | None:
    """The file's bytes, or None when it holds more than `limit` (it may grow after stat)."""
    with path.open("rb") as handle:
        data = handle.read() if limit is None else handle.read(limit + 1)
    return None if limit is not None and len(data) > limit else data


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _candidate_paths(source: SourceConfig) -> Iterator[Path]:
    if source.path is None:
        raise ValueError(f"source {source.name} has no path yet: bind it to its contract first")
    if source.is_glob:
        for match in sorted(glob.glob(source.path, recursive=True)):
            yield Path(match)
        return
    root = Path(source.path)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        # Symlinked folders are not followed (os.walk lists them as dirnames): report them.
        for name in sorted(filenames) + sorted(
            d
            for d in os.listdir(dirpath)
            if os.path.islink(os.path.join(dirpath, d)) and os.path.isdir(os.path.join(dirpath, d))
        ):
            yield Path(dirpath) / name


def discover_source(
    source: SourceConfig, max_file_bytes: int | None = None
) -> Iterator[tuple[DiscoveredFile, bytes | None]]:
    """Yield every file of `source` with its bytes (None when rejected). Hidden files are skipped.

    A file larger than `max_file_bytes` is rejected from its size alone, without being read.
    """
    root = source.root.resolve()
    for candidate in _candidate_paths(source):
        relative = Path(os.path.relpath(candidate, root))
        if _is_hidden(relative):
            continue
        if candidate.is_dir() and (not candidate.is_symlink() or _resolves_inside(candidate, root)):
            # A symlinked folder inside the root: its files are discovered by their real path.
            continue
        yield _read_candidate(source, root, candidate, relative, max_file_bytes)


def read_source_file(
    source: SourceConfig, candidate: Path, max_file_bytes: int | None = None
) -> tuple[DiscoveredFile, bytes | None]:
    """One file that `discover_source` found, read again as it is now: a shard of a run reads
    the files its plan lists (pipelines/run/shards.py). Deleted since, it is rejected as
    unreadable; the next run records it as removed."""
    root = source.root.resolve()
    return _read_candidate(source, root, candidate, Path(os.path.relpath(candidate, root)), max_file_bytes)


def _resolves_inside(candidate: Path, root: Path) -> bool:
    try:
        return candidate.resolve().is_relative_to(root)
    except (RuntimeError, OSError):
        return False


def printable_relative_path(relative: Path) -> str:
    """The path as text that any store can hold: bytes that are not UTF-8 (a name written on
    another system) are shown as \\xNN escapes, the same on every run."""
    return os.fsencode(relative.as_posix()).decode("utf-8", errors="backslashreplace")


def _read_candidate(
    source: SourceConfig, root: Path, candidate: Path, relative: Path, max_file_bytes: int | None
) -> tuple[DiscoveredFile, bytes | None]:
    """The candidate with its bytes, or rejected with the first reason that applies."""
    rel = printable_relative_path(relative)
    doc_id = f"{source.name}/{rel}"

    def rejected(code: str, detail: str, size: int = 0) -> tuple[DiscoveredFile, None]:
        return (
            DiscoveredFile(doc_id, source.name, rel, candidate, size, None, None, code, detail),
            None,
        )

    if rel != relative.as_posix():
        return rejected(
            "discover.invalid_file_name",
            "the file name is not valid UTF-8; rename the file so its name can be stored and shown",
        )
    if candidate.is_symlink():
        refused = _symlink_rejection(candidate, root)
        if refused is not None:
            return rejected(*refused)
    try:
        info = candidate.stat()
    except OSError as err:
        return rejected("discover.unreadable", f"cannot stat: {err.strerror}")
    if not stat.S_ISREG(info.st_mode):
        return rejected("discover.not_a_regular_file", "not a regular file")
    if info.st_size == 0:
        return rejected("discover.empty_file", "the file has zero bytes")
    if max_file_bytes is not None and info.st_size > max_file_bytes:
        return rejected(
            "discover.too_large",
            f"{info.st_size:,} bytes, over {max_file_bytes:,} (limits.maxFileBytes in the contract)",
            info.st_size,
        )
    try:
        data = _read_at_most(candidate, max_file_bytes)
    except OSError as err:
        return rejected("discover.unreadable", f"cannot read: {err.strerror}", info.st_size)
    if data is None:
        return rejected(
            "discover.too_large",
            f"grew past {max_file_bytes:,} bytes while being read (limits.maxFileBytes in the contract)",
            info.st_size,
        )
    return _by_content(DiscoveredFile(doc_id, source.name, rel, candidate, len(data), None, None), data)


def _symlink_rejection(candidate: Path, root: Path) -> tuple[str, str] | None:
    """The reason code and detail that reject a symlink, or None when it stays inside the root."""
    try:
        target = candidate.resolve()
    except (RuntimeError, OSError):
        # Path.resolve raises RuntimeError("Symlink loop ...") on Python 3.11, OSError ELOOP later.
        return "discover.symlink_loop", "a symlink loop: the link never reaches a file"
    if not target.is_relative_to(root):
        return (
            "discover.symlink_outside_source",
            f"symlink points outside the source root to {target}",
        )
    return None


def _by_content(read: DiscoveredFile, data: bytes) -> tuple[DiscoveredFile, bytes | None]:
    """The file that was read, with its hash and the MIME type of its bytes: rejected (without
    its bytes) when they are binary or a format corpusgov does not parse."""
    content_hash = hashlib.sha256(data).hexdigest()
    mime_type = sniff_mime_type(data, read.absolute_path.name)
    if mime_type is None:
        return (
            replace(
                read,
                content_hash=content_hash,
                rejection="discover.binary_content",
                rejection_detail="binary content that is not a supported document format",
            ),
            None,
        )
    if mime_type not in PARSEABLE_MIME_TYPES:
        return (
            replace(
                read,
                content_hash=content_hash,
                mime_type=mime_type,
                rejection="discover.unsupported_format",
                rejection_detail=f"{mime_type} is not a format corpusgov parses",
            ),
            None,
        )
    return replace(read, content_hash=content_hash, mime_type=mime_type), data
