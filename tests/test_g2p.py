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


def test_neural_model_gives_g2p_en_s_own_answers(lexicon):
    # recorded from g2p_en 2.1's G2p.predict; vowelseg runs the same weights itself
    expected = {
        "blorptastic": ["B", "L", "AO2", "R", "P", "T", "AE1", "S", "T", "IH0", "K"],
        "zdzislaw": ["Z", "IH0", "Z", "B", "L", "AO1"],
        "nguyen": ["N", "UW1", "G", "IY2", "N"],
        "vowelseg": ["V", "AW1", "AH0", "L", "Z", "IH0", "G"],
    }
    assert {w: lexicon.predict(w) for w in expected} == expected


def test_g2p_en_and_nltk_are_never_imported():
    import subprocess
    import sys

    code = ("import sys, app.pipeline as p; p.load_resources(); "
            "from app.g2p import transcript_words; "
            "transcript_words('Zdzislaw paid $3.50 in 1999', p.load_resources().lexicon); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nltk', 'g2p_en')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
