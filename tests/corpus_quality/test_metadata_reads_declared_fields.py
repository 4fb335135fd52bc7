"""read_declared_metadata normalises what HTML, Markdown, DOCX and PDF files say about themselves."""

import io
import zipfile
from datetime import datetime
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject

from corpus_quality import read_declared_metadata

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "corpus_quality"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _pdf(info: dict[str, str], xmp: bytes | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata(info)
    if xmp is not None:
        stream = StreamObject()
        stream.set_data(xmp)
        stream[NameObject("/Type")] = NameObject("/Metadata")
        stream[NameObject("/Subtype")] = NameObject("/XML")
        writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _docx(**core: object) -> bytes:
    document = docx.Document()
    document.add_paragraph("Travel policy")
    for name, value in core.items():
        setattr(document.core_properties, name, value)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_html_reads_title_lang_and_meta_tags() -> None:
    declared = read_declared_metadata((FIXTURES / "page.html").read_bytes(), "text/html")
    assert declared["title"] == "Expense policy"
    assert declared["language"] == "en"
    assert declared["author"] == "Jane Doe"
    assert declared["generator"] == "Hugo 0.121.1"
    assert declared["description"] == "How to claim travel expenses"
    assert declared["modified"] == "2024-03-01T10:00:00+00:00"
    assert "viewport" not in declared


def test_markdown_reads_front_matter_scalars_lowercased() -> None:
    declared = read_declared_metadata((FIXTURES / "runbook.md").read_bytes(), "text/markdown")
    assert declared["title"] == "Database failover runbook"
    assert declared["author"] == "Platform Team"
    assert declared["created"] == "2023-05-01"
    assert declared["modified"] == "2024-02-02"
    assert declared["owner"] == "dba-oncall"
    assert declared["reviewed"] == "true"
    assert declared["provenance"] == "human"
    assert "nested" not in declared


def test_markdown_without_front_matter_or_with_broken_yaml_gives_nothing() -> None:
    assert read_declared_metadata(b"# Title\n\nJust text.\n", "text/markdown") == {}
    assert read_declared_metadata(b"---\ntitle: [unclosed\n---\nbody\n", "text/markdown") == {}


def test_docx_reads_core_properties_and_application() -> None:
    data = _docx(
        title="Travel handbook",
        author="HR Operations",
        language="de-DE",
        created=datetime(2023, 1, 5, 9, 30),
        modified=datetime(2024, 1, 5, 12, 0),
    )
    declared = read_declared_metadata(data, DOCX)
    assert declared["title"] == "Travel handbook"
    assert declared["author"] == "HR Operations"
    assert declared["language"] == "de"
    assert declared["created"] == "2023-01-05T09:30:00+00:00"
    assert declared["modified"] == "2024-01-05T12:00:00+00:00"
    assert "Word" in declared["application"]


def test_pdf_reads_info_dictionary_with_iso_dates() -> None:
    data = _pdf(
        {
            "/Title": "Quarterly report",
            "/Author": "Finance",
            "/Producer": "Acrobat Distiller 23.0",
            "/Creator": "Microsoft Word",
            "/CreationDate": "D:20240102030405+01'00'",
            "/ModDate": "D:20240203",
        }
    )
    declared = read_declared_metadata(data, "application/pdf")
    assert declared["title"] == "Quarterly report"
    assert declared["author"] == "Finance"
    assert declared["producer"] == "Acrobat Distiller 23.0"
    assert declared["creator"] == "Microsoft Word"
    assert declared["created"] == "2024-01-02T03:04:05+01:00"
    assert declared["modified"].startswith("2024-02-03")


def test_pdf_reads_iptc_digital_source_type_from_xmp() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="' + AI_SOURCE_TYPE.encode() + b'"/></rdf:RDF></x:xmpmeta>'
    )
    declared = read_declared_metadata(_pdf({"/Title": "Summary"}, xmp), "application/pdf")
    assert declared["digital_source_type"] == AI_SOURCE_TYPE
    assert declared["title"] == "Summary"


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (b"%PDF-1.7\n1 0 obj << /Title (x", "application/pdf"),
        (b"not a pdf at all", "application/pdf"),
        (b"PK\x03\x04 truncated zip", DOCX),
        (b"", "text/html"),
        (b"\x00\xff\xfe<<<", "text/html"),
        (b"---\n- a\n- b\n---\n", "text/markdown"),
        (b"anything", "text/plain"),
        (b"anything", "application/x-unknown"),
    ],
)
def test_malformed_or_unsupported_input_never_raises(data: bytes, mime_type: str) -> None:
    assert read_declared_metadata(data, mime_type) == {}


def test_truncated_pdf_yields_no_metadata() -> None:
    data = _pdf({"/Title": "Quarterly report"})
    assert read_declared_metadata(data[: len(data) // 3], "application/pdf") == {}


def test_docx_with_broken_app_part_still_returns_core_properties() -> None:
    source = zipfile.ZipFile(io.BytesIO(_docx(title="Kept")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            payload = b"<broken" if item.filename == "docProps/app.xml" else source.read(item)
            target.writestr(item, payload)
    declared = read_declared_metadata(buffer.getvalue(), DOCX)
    assert declared["title"] == "Kept"
    assert "application" not in declared
