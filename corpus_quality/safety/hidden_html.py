"""Text in raw HTML that a browser does not show: hidden elements (attribute, inline style,
the page's own stylesheet, text coloured like its background) and comments."""

import re

from lxml import etree
from lxml import html as lxml_html

HTML_MIME = "text/html"

_HIDING_STYLE_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden"
    r"|font-size\s*:\s*0*\.?0+(?:px|pt|em|rem|%)?\s*(?:;|$|!)"
    r"|(?<![-\w])opacity\s*:\s*0*\.?0+\s*(?:;|$|!)",
    re.IGNORECASE,
)
_COLOR_RE = re.compile(r"(?<![-\w])color\s*:\s*([^;!]+)", re.IGNORECASE)
_BACKGROUND_RE = re.compile(r"background(?:-color)?\s*:\s*([^;!]+)", re.IGNORECASE)
_CSS_RULE_RE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR_RE = re.compile(r"^[a-z0-9]*([.#])([\w-]+)$", re.IGNORECASE)
_RGB_RE = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)")
_NAMED_COLORS = {"white": "#ffffff", "black": "#000000", "transparent": "transparent"}
_DEFAULT_BACKGROUND = "#ffffff"  # browsers paint an unstyled page white
_NON_TEXT_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "meta", "link"})


def is_html(raw: bytes, mime_type: str | None) -> bool:
    """True when ``raw`` is HTML: by its declared MIME type when there is one, else by its opening."""
    if mime_type is not None:
        return mime_type.split(";")[0].strip().lower() == HTML_MIME
    head = raw[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _normalise_color(value: str) -> str | None:
    value = value.strip().lower()
    if value in _NAMED_COLORS:
        return _NAMED_COLORS[value]
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "#" + "".join(c * 2 for c in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return value
    rgb = _RGB_RE.fullmatch(value)
    if rgb:
        red, green, blue, alpha = rgb.groups()
        if alpha is not None and float(alpha) == 0:
            return "transparent"
        return "#{:02x}{:02x}{:02x}".format(*(min(255, int(part)) for part in (red, green, blue)))
    return value or None


def _background_of(element: etree._Element) -> str:
    for node in (element, *element.iterancestors()):
        style = node.get("style")
        if style:
            match = _BACKGROUND_RE.search(style)
            if match:
                color = _normalise_color(match.group(1).split()[0])
                if color and color != "transparent":
                    return color
        bgcolor = node.get("bgcolor")
        if bgcolor:
            return _normalise_color(bgcolor) or _DEFAULT_BACKGROUND
    return _DEFAULT_BACKGROUND


def _hiding_selectors(root: etree._Element) -> tuple[set[str], set[str]]:
    """Classes and ids that the page's own <style> blocks hide."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in root.iter("style"):
        css = style.text or ""
        for selectors, declarations in _CSS_RULE_RE.findall(css):
            if not _HIDING_STYLE_RE.search(declarations):
                continue
            for selector in selectors.split(","):
                simple = _SIMPLE_SELECTOR_RE.match(selector.strip())
                if simple:
                    (classes if simple.group(1) == "." else ids).add(simple.group(2))
    return classes, ids


def _hiding_reason(element: etree._Element, classes: set[str], ids: set[str]) -> str | None:
    if element.get("hidden") is not None:
        return "hidden attribute"
    style = element.get("style") or ""
    if style:
        hiding = _HIDING_STYLE_RE.search(style)
        if hiding:
            return " ".join(hiding.group(0).rstrip(";!").split())
        color_match = _COLOR_RE.search(style)
        if color_match:
            color = _normalise_color(color_match.group(1))
            if color is not None and color == _background_of(element):
                return f"text colour equals background ({color})"
    if classes:
        for name in (element.get("class") or "").split():
            if name in classes:
                return f"class .{name} hidden by stylesheet"
    if ids and element.get("id") in ids:
        return f"#{element.get('id')} hidden by stylesheet"
    return None


def _visible_text(element: etree._Element) -> str:
    parts = element.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")
    return " ".join(" ".join(str(part) for part in parts).split())


def hidden_html(raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """(reason, text) for each hidden element with text, and the text of every HTML comment."""
    try:
        root = lxml_html.document_fromstring(raw)
    except (etree.ParserError, ValueError):
        return [], []
    classes, ids = _hiding_selectors(root)
    hidden: list[tuple[str, str]] = []
    flagged: set[etree._Element] = set()
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in _NON_TEXT_TAGS:
            continue
        if flagged and any(ancestor in flagged for ancestor in element.iterancestors()):
            continue  # already reported as part of a hidden ancestor (walked only once one is)
        reason = _hiding_reason(element, classes, ids)
        if reason is None:
            continue
        text = _visible_text(element)
        if text:
            flagged.add(element)
            hidden.append((reason, text))
    comments = [str(comment.text or "") for comment in root.iter(etree.Comment)]
    return hidden, comments
