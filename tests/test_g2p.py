"""Transcript to phones: dictionary variants, neural fallback, spelled-out symbols."""

from __future__ import annotations

import pytest

from app.errors import TranscriptError
from app.g2p import expand_text, load_lexicon, tokenize, transcript_words


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def test_all_dictionary_variants_are_offered(lexicon):
    (read,) = transcript_words("read", lexicon)
    assert set(read.pronunciations) == {("R", "EH1", "D"), ("R", "IY1", "D")}
    assert read.source == "cmudict"


def test_unknown_word_goes_through_the_neural_model(lexicon):
    (word,) = transcript_words("blorptastic", lexicon)
    assert word.source == "neural"
    phones = word.pronunciations[0]
    assert phones[:2] == ("B", "L") and phones[-1] == "K"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("I paid $3.50", "i paid three dollars fifty cents"),
        ("the 21st of May", "the twenty first of may"),
        ("50% & more", "fifty percent and more"),
        ("in 1999", "in nineteen ninety nine"),
        ("Don\u2019t \u201cquote\u201d me", "don't quote me"),
        ("Caf\u00e9 Zdzis\u0142aw", "cafe zdzislaw"),
        ("well-known", "well known"),
    ],
)
def test_numbers_symbols_and_unicode_are_spelled_out(text, spoken):
    assert " ".join(tokenize(expand_text(text))) == spoken


@pytest.mark.parametrize("text", ["", "   \n\t", "!!! ??? ...", "\U0001f600\U0001f44d"])
def test_unpronounceable_transcripts_are_refused(lexicon, text):
    with pytest.raises(TranscriptError) as info:
        transcript_words(text, lexicon)
    assert "transcript" in info.value.message
