"""Read the metadata a file declares about itself (title, author, generator, dates, ...).

Text extraction (unstructured) drops this; quality (staleness, completeness) and provenance
(AI generators, IPTC digital source type) need it. Every reader is defensive: malformed
input yields whatever could be read, never an exception.
"""

import io
import logging
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import yaml
from lxml import etree
from lxml import html as lxml_html

from corpus_quality.signals import parse_iso_datetime

HTML_MIME = "text/html"
MARKDOWN_MIME = "text/markdown"
PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Declared values are shown to people and matched by regexes; an attacker-sized value helps neither.
MAX_VALUE_CHARS = 1_000
# docProps parts are a few KB; refuse to inflate anything bigger (zip bombs).
MAX_DOCX_PART_BYTES = 1_000_000

_HTML_META_ALIASES: dict[str, str] = {
    "author": "author",
    "dc.creator": "author",
    "dcterms.creator": "author",
    "generator": "generator",
    "description": "description",
    "keywords": "keywords",
    "dc.title": "title",
    "dcterms.title": "title",
    "og:title": "title",
    "dc.language": "language",
    "language": "language",
    "content-language": "language",
    "dcterms.created": "created",
    "dc.date.created": "created",
    "article:published_time": "created",
    "date": "created",
    "dcterms.modified": "modified",
    "dc.date.modified": "modified",
    "article:modified_time": "modified",
    "last-modified": "modified",
    "lastmod": "modified",
    "digitalsourcetype": "digital_source_type",
    "iptc:digitalsourcetype": "digital_source_type",
    "iptc4xmpext:digitalsourcetype": "digital_source_type",
}
# Browser plumbing, not statements about the document.
_HTML_META_IGNORED = frozenset(
    {
        "viewport",
        "theme-color",
        "format-detection",
        "referrer",
        "robots",
        "googlebot",
        "color-scheme",
        "msapplication-tilecolor",
        "apple-mobile-web-app-capable",
    }
)

_FRONT_MATTER_ALIASES: dict[str, str] = {
    "authors": "author",
    "lang": "language",
    "date": "created",
    "published": "created",
    "lastmod": "modified",
    "last_modified": "modified",
    "last_updated": "modified",
    "updated": "modified",
    "digitalsourcetype": "digital_source_type",
}
_DATE_KEYS = frozenset({"created", "modified"})

_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_PDF_DATE_RE = re.compile(
    r"^D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?"
)
_XMP_DIGITAL_SOURCE_RE = re.compile(
    rb"DigitalSourceType\s*(?:=\s*[\"']([^\"']+)[\"']|>\s*([^<\s]+)\s*<|[^>]*?rdf:resource\s*=\s*[\"']([^\"']+)[\"'])"
)

_CORE_NS = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
}
_APP_NS = {"ep": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"}
_CORE_FIELDS: tuple[tuple[str, str], ...] = (
    ("dc:title", "title"),
    ("dc:creator", "author"),
    ("dc:language", "language"),
    ("dc:subject", "subject"),
    ("dc:description", "description"),
    ("cp:keywords", "keywords"),
    ("cp:lastModifiedBy", "last_modified_by"),
    ("dcterms:created", "created"),
    ("dcterms:modified", "modified"),
)

_SAFE_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

logger = logging.getLogger(__name__)


def _clean(value: object) -> str:
    text = " ".join(str(value).split())
    return text[:MAX_VALUE_CHARS]


def normalise_date(value: object) -> str | None:
    """Return ``value`` (datetime, date, ISO string or PDF "D:YYYYMMDD..." string) as ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("D:") or re.fullmatch(r"\d{8,14}.*", text):
        return _pdf_date(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = parse_iso_datetime(text)
    if parsed is None:
        return None
    # Keep a bare date bare: adding a midnight time would claim precision that is not there.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return parsed.isoformat()


def _pdf_date(text: str) -> str | None:
    match = _PDF_DATE_RE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, tz_hours, tz_minutes = match.groups()
    try:
        tz: timezone | None = None
        if sign in ("Z", "z"):
            tz = UTC
        elif sign in ("+", "-"):
            offset = timedelta(hours=int(tz_hours or 0), minutes=int(tz_minutes or 0))
            tz = timezone(offset if sign == "+" else -offset)
        stamp = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return stamp.isoformat()


def _put(result: dict[str, str], key: str, value: object, *, overwrite: bool = False) -> None:
    if value is None:
        return
    if key in _DATE_KEYS:
        normalised = normalise_date(value)
        if normalised is None:
            return
        text = normalised
    else:
        text = _clean(value)
    if not text:
        return
    if overwrite or key not in result:
        result[key] = text


def _read_html(data: bytes, result: dict[str, str]) -> None:
    root = lxml_html.document_fromstring(data)
    title = root.find(".//title")
    if title is not None and title.text_content().strip():
        _put(result, "title", title.text_content())
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        # "en-GB" -> "en": callers key stopword profiles and routing on the ISO 639-1 part.
        _put(result, "language", lang.split("-")[0].split("_")[0].lower())
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or meta.get("http-equiv") or "").strip().lower()
        content = meta.get("content")
        if not name or content is None or name in _HTML_META_IGNORED:
            continue
        key = _HTML_META_ALIASES.get(name, name)
        if key == "language":
            content = content.split(",")[0].split("-")[0].lower()
        _put(result, key, content)


def _read_pdf(data: bytes, result: dict[str, str]) -> None:
    # pypdf is imported here: it is only needed for PDFs and logs noisily on broken files.
    from pypdf import PdfReader

    pypdf_logger = logging.getLogger("pypdf")
    previous_level = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        info: Any = reader.metadata or {}
        for pdf_key, key in (
            ("/Title", "title"),
            ("/Author", "author"),
            ("/Producer", "producer"),
            ("/Creator", "creator"),
            ("/Subject", "subject"),
            ("/Keywords", "keywords"),
            ("/CreationDate", "created"),
            ("/ModDate", "modified"),
        ):
            try:
                value = info.get(pdf_key)
            except Exception:  # a broken indirect reference in one field must not hide the rest
                continue
            if value is not None and str(value).strip():
                _put(result, key, str(value))
        xmp = _pdf_xmp_bytes(reader)
        if xmp:
            match = _XMP_DIGITAL_SOURCE_RE.search(xmp)
            if match:
                value = next(group for group in match.groups() if group)
                _put(result, "digital_source_type", value.decode("utf-8", "replace"))
    finally:
        pypdf_logger.setLevel(previous_level)


def _pdf_xmp_bytes(reader: object) -> bytes | None:
    try:
        metadata_stream = reader.trailer["/Root"].get("/Metadata")  # type: ignore[attr-defined]
        if metadata_stream is None:
            return None
        data: bytes = metadata_stream.get_object().get_data()
        return data[:MAX_DOCX_PART_BYTES]
    except Exception:  # XMP is optional; a malformed stream just means no XMP
        return None


def _read_docx_part(archive: zipfile.ZipFile, name: str) -> etree._Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_DOCX_PART_BYTES:
        return None
    return etree.fromstring(archive.read(info), parser=_SAFE_XML_PARSER)


def _read_docx(data: bytes, result: dict[str, str]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            core = _read_docx_part(archive, "docProps/core.xml")
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError):
            core = None
        if core is not None:
            for path, key in _CORE_FIELDS:
                element = core.find(path, _CORE_NS)
                if element is not None and element.text and element.text.strip():
                    _put(result, key, element.text)
        try:
            app = _read_docx_part(archive, "docProps/app.xml")
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError):
            app = None
        if app is not None:
            application = app.find("ep:Application", _APP_NS)
            version = app.find("ep:AppVersion", _APP_NS)
            if application is not None and application.text:
                _put(result, "application", application.text)
            if version is not None and version.text:
                _put(result, "application_version", version.text)
    if "language" in result:
        result["language"] = result["language"].split("-")[0].lower()


def _front_matter_value(value: object) -> object | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float, date)):
        return value
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        # "authors: [a, b]" is common enough to keep; other lists (tags) are not metadata we use.
        return ", ".join(value)
    return None


def _read_markdown(data: bytes, result: dict[str, str]) -> None:
    text = data.decode("utf-8", errors="replace")
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        return
    try:
        loaded = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return
    if not isinstance(loaded, dict):
        return
    for raw_key, raw_value in loaded.items():
        key = str(raw_key).strip().lower()
        value = _front_matter_value(raw_value)
        if not key or value is None:
            continue
        canonical = _FRONT_MATTER_ALIASES.get(key)
        if canonical is not None:
            # An explicit canonical key ("modified") beats an alias ("lastmod") in any order.
            _put(result, canonical, value)
        # The author's own key is kept as written: "date" may mean something else to them.
        _put(result, key, value.isoformat() if isinstance(value, date) else value, overwrite=True)
    if "language" in result:
        result["language"] = result["language"].split("-")[0].lower()


_READERS: dict[str, Callable[[bytes, dict[str, str]], None]] = {
    HTML_MIME: _read_html,
    MARKDOWN_MIME: _read_markdown,
    PDF_MIME: _read_pdf,
    DOCX_MIME: _read_docx,
}


def read_declared_metadata(data: bytes, mime_type: str) -> dict[str, str]:
    """Return the metadata ``data`` declares about itself, with normalised keys; never raises."""
    reader = _READERS.get(mime_type.split(";")[0].strip().lower())
    result: dict[str, str] = {}
    if reader is None or not data:
        return result
    try:
        reader(data, result)
    except Exception as error:  # noqa: BLE001 - malformed files are expected input, not bugs
        logger.debug("could not fully read %s metadata: %s", mime_type, error)
    return result
