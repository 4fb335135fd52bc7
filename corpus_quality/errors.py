"""Exceptions raised by corpus_quality.

Assessment itself never raises on odd documents (a bad document gets a bad grade);
these are for callers passing values outside the vocabulary.
"""


class CorpusQualityError(Exception):
    """Base class for every error raised by corpus_quality."""


class UnknownGradeError(CorpusQualityError, ValueError):
    """A grade outside corpus_quality.vocabulary.Grade was given."""


class UnknownProvenanceLabelError(CorpusQualityError, ValueError):
    """A provenance label outside corpus_quality.vocabulary.ProvenanceLabel was given."""


class InvalidQualityInputError(CorpusQualityError, ValueError):
    """A QualityInput was built with impossible values (e.g. a negative raw_size)."""
