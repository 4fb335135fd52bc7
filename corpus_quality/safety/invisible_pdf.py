"""Text in a PDF that is extracted (and embedded) but drawn invisibly, so no reader sees it."""

# PDF text render mode 3 draws nothing: the text is extracted (and embedded) but no reader sees it.
_INVISIBLE_RENDER_MODE = 3
_PDF_PAGES_SCANNED = 200


def pdf_invisible_text(raw: bytes) -> list[str]:
    """Text shown while the render mode is 3 (invisible), page by page; [] when unreadable."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import ContentStream

    found: list[str] = []
    try:
        reader = PdfReader(BytesIO(raw), strict=False)
        for page in reader.pages[:_PDF_PAGES_SCANNED]:
            contents = page.get_contents()
            if contents is None:
                continue
            mode = 0
            saved: list[int] = []
            for operands, operator in ContentStream(contents, reader).operations:
                if operator == b"Tr" and operands:
                    mode = int(operands[0])
                elif operator == b"q":
                    saved.append(mode)
                elif operator == b"Q" and saved:
                    mode = saved.pop()
                elif mode == _INVISIBLE_RENDER_MODE and operator in (b"Tj", b"'", b'"') and operands:
                    found.append(str(operands[-1]))
                elif mode == _INVISIBLE_RENDER_MODE and operator == b"TJ" and operands:
                    found.append("".join(str(part) for part in operands[0] if isinstance(part, str)))
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return found
    return [text.strip() for text in found if text.strip()]
