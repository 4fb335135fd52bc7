"""The near-verbatim matcher behind contested items and contamination."""

from evals.near_verbatim import NearVerbatimMatcher, best_window_jaccard, is_near_verbatim, normalise_text


def test_normalisation_folds_case_whitespace_width_and_typographic_quotes() -> None:
    assert normalise_text("The  “Driver’s”\n Ｌｏｇ — daily") == 'the "driver\'s" log - daily'


def test_one_changed_word_in_a_25_word_passage_is_still_near_verbatim() -> None:
    passage = normalise_text(
        "Forklift drivers must renew their certificate every two years at the site training centre, "
        "and the shift lead checks the date on the card before every single shift."
    )
    chunk = normalise_text(
        "Site rules. Forklift drivers should renew their certificate every two years at the site training "
        "centre, and the shift lead checks the date on the card before every single shift. Gates close at six."
    )
    assert passage not in chunk
    assert best_window_jaccard(passage, chunk) >= 0.8
    assert is_near_verbatim(passage, chunk)


def test_a_paraphrase_is_not_near_verbatim() -> None:
    passage = normalise_text(
        "Forklift drivers must renew their certificate every two years at the site training centre."
    )
    chunk = normalise_text(
        "Every second year, people driving forklifts go back to the training centre for a new licence."
    )
    assert not is_near_verbatim(passage, chunk)


def test_matcher_returns_only_the_keys_found_in_a_chunk() -> None:
    matcher = NearVerbatimMatcher(
        {
            "renew": "Forklift drivers must renew their certificate every two years.",
            "hats": "Hard hats are required in the loading bay at all times.",
            "short": "loading bay",
        }
    )
    assert matcher.matches("Reminder: HARD HATS are required in the loading bay at all times!") == [
        "hats",
        "short",
    ]
    assert matcher.scan([("c1", "nothing relevant here"), ("c2", "the loading bay opens at six")]) == {
        "short": ["c2"]
    }
