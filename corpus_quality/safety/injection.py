"""Prompt injection: text aimed at the model that will read a document, not at its reader.

Visible text is forgiven when it is plainly *about* injection (a policy quoting an attack);
hidden channels are not, since nobody reads them but a model.
"""

import re

from corpus_quality.anchors import anchor_windows

_INJECTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|of|my|these)\s+)*"
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|original|system)\s+"
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|context|messages?)\b"
    # "...the previous instructions for dock 4 that were emailed" is a memo about a named thing,
    # not an attack on a model's instructions.
    r"(?!\s+(?:for|about|regarding|concerning|on)\s+(?!(?:the\s+)?(?:ai|assistant|model|chatbot|bot|llm)\b)\w"
    r"|\s+(?:that\s+were\s+|we\s+)?(?:emailed|sent|posted|issued|circulated)\b)"
    r"|\b(?:disregard|ignore|forget|bypass)\s+(?:(?:the|your|all)\s+)?"
    r"(?:system\s+(?:prompt|message)|safety\s+(?:guidelines|rules|filters)|content\s+polic(?:y|ies))\b"
    r"|\bforget\s+(?:everything|all)\s+(?:(?:that\s+)?you(?:'ve|\s+have)?\s+(?:been\s+told|were\s+told|know|learned)"
    r"|(?:above|before))\b"
    r"|\b(?:new|updated|real|actual|revised)\s+instructions\s*:"
    # Asking for "the instructions" is ordinary ("print the instructions"); asking for
    # *your* instructions or the system prompt is aimed at a model.
    r"|\b(?:reveal|print|show|output|repeat|display|leak|disclose)\s+(?:me\s+)?(?:your|the)\s+"
    r"(?:(?:full|entire|hidden|initial|original|secret)\s+)*system\s+(?:prompt|message)\b"
    r"|\b(?:reveal|repeat|leak|disclose)\s+(?:me\s+)?your\s+"
    r"(?:(?:full|entire|hidden|initial|original|secret)\s+)*(?:instructions|prompt)\b"
    r"|\byou\s+are\s+now\s+(?:an?\s+|the\s+)?"
    r"(?:(?:new|unrestricted|unfiltered|uncensored|evil|different|jailbroken|free|rogue)\s+)*"
    r"(?:ai|assistant|chatbot|model|persona|dan)\b"
    r"|\byou\s+are\s+now\s+in\s+(?:developer|god|dan|jailbreak|admin)\s+mode\b"
    r"|\b(?:if|when)\s+you\s+are\s+an?\s+(?:ai|llm|(?:large\s+)?language\s+model|chatbot)"
    r"(?:\s+(?:assistant|model|agent))?(?:\s*,|\s+(?:reading|processing|summari[sz]ing|that|who)\b)"
    r"|\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?"
    r"(?:ai|llm|language\s+model|ai\s+assistant|assistant|chatbot)s?\s*:"
    r"|\bdo\s+not\s+(?:tell|inform|mention\s+(?:this\s+)?to|reveal\s+(?:this\s+)?to)\s+the\s+user\b"
    r"|<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>"
    r"|\[/?INST\]|<</?SYS>>"
    r"|\bignorier(?:e|en\s+sie)\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|vorangegangenen)\s+"
    r"(?:anweisungen|instruktionen|befehle)\b"
    r"|\bignorez\s+(?:toutes\s+)?les\s+instructions\s+(?:précédentes|ci-dessus|antérieures)"
    r"|\bignora\s+(?:todas\s+)?las\s+instrucciones\s+(?:anteriores|previas)\b",
    re.IGNORECASE,
)
# Words that mark text as talking *about* injection (policies, training, threat models).
_DISCUSSION_CUE_RE = re.compile(
    r"prompt[- ]injection|injection attacks?|jailbreak|attackers?\b|adversar|malicious|red[- ]team"
    r"|for example|for instance|e\.g\.|such as|(?:phrases?|strings?|patterns?|text|commands?) like"
    r"|(?:may|might|could|can) (?:say|write|contain|include|embed|hide|insert)"
    r"|beware|be wary|watch out|never follow|do not follow|detect|filter"
    r"|beispiel|angreifer|schulung|zum beispiel|exemple|attaquant|formation|ejemplo|atacante|formación",
    re.IGNORECASE,
)
# The pattern is only tried near these words (see corpus_quality.anchors); each branch above
# contains at least one of them. Multi-word anchors use single spaces, so a phrase broken by
# unusual whitespace is missed: an accepted gap for a 20x cheaper scan.
_INJECTION_ANCHORS: tuple[str, ...] = (
    "ignor",
    "disregard",
    "forget",
    "override",
    "bypass",
    "instruction",
    "prompt",
    "system message",
    "you are",
    "note",
    "message",
    "attention",
    "do not",
    "<|",
    "inst]",
    "sys>>",
)
_INJECTION_REACH_BEFORE = 100
_INJECTION_REACH_AFTER = 200
_DISCUSSION_WINDOW_CHARS = 200
_SENTENCE_START_RE = re.compile(r"[.!?:;\n]")
_LEADING_NOISE = " \t-*•>#0123456789).(\"'“”„«»‘’`"


def _is_discussion(text: str, start: int, end: int) -> bool:
    """True when an injection-like phrase is quoted or reported inside text about injection.

    A policy that warns 'attackers may write "ignore previous instructions"' mentions the
    phrase; a page that says "Ignore previous instructions." at the start of a sentence uses
    it. Both need a discussion cue nearby; the mention must also be quoted or mid-sentence.
    """
    paragraph_start = text.rfind("\n\n", 0, start) + 1
    paragraph_end = text.find("\n\n", end)
    if paragraph_end == -1:
        paragraph_end = len(text)
    window_start = max(paragraph_start, start - _DISCUSSION_WINDOW_CHARS)
    window_end = min(paragraph_end, end + _DISCUSSION_WINDOW_CHARS)
    if not (
        _DISCUSSION_CUE_RE.search(text, window_start, start)
        or _DISCUSSION_CUE_RE.search(text, end, window_end)
    ):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    quoted = (
        prefix.count('"') % 2 == 1
        or prefix.count("`") % 2 == 1
        or prefix.count("“") + prefix.count("„") + prefix.count("«") > prefix.count("”") + prefix.count("»")
        or prefix.rstrip().endswith(("'", "‘"))
    )
    if quoted:
        return True
    sentence_prefix = _SENTENCE_START_RE.split(prefix)[-1].strip(_LEADING_NOISE)
    return bool(sentence_prefix)


def _injection_matches(text: str) -> list[re.Match[str]]:
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few characters ("İ") grow when lower-cased; offsets would drift, so scan it all.
        return list(_INJECTION_RE.finditer(text))
    matches: list[re.Match[str]] = []
    last_end = -1
    for start, end in anchor_windows(
        lowered, _INJECTION_ANCHORS, _INJECTION_REACH_BEFORE, _INJECTION_REACH_AFTER
    ):
        for match in _INJECTION_RE.finditer(text, max(start, last_end), end):
            matches.append(match)
            last_end = match.end()
    return matches


def injection_hits(text: str) -> list[str]:
    """Injection-like phrases in readable text, except those mentioned in text about injection."""
    return [
        match.group(0)
        for match in _injection_matches(text)
        if not _is_discussion(text, match.start(), match.end())
    ]


def strict_injection_hits(text: str) -> list[str]:
    """Every injection-like phrase in text that no person reads."""
    # Hidden channels (comments, invisible elements, tag characters) have no readers to
    # discuss anything with: every match counts.
    return [match.group(0) for match in _injection_matches(text)]
