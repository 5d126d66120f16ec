"""Hard transcripts: each becomes the words a speaker says, then ARPAbet phones.

The table is the documentation of how text is read; words that are not in the
CMU dictionary go through the neural model and are reported as ``"neural"``.
"""

from __future__ import annotations

import pytest
from vowelseg.text.g2p import load_lexicon, transcript_words

TABLE = [
    # numbers, years, ordinals, decimals, fractions, negatives
    ("I counted 21 birds", "i counted twenty one birds"),
    ("1,000,000 people", "one million people"),
    ("in 1999", "in nineteen ninety nine"),
    ("in 2005", "in two thousand five"),
    ("in 2024", "in twenty twenty four"),
    ("the 3rd time", "the third time"),
    ("1st 2nd 11th", "first second eleventh"),
    ("2.5 kilos", "two point five kilos"),
    ("0.001", "zero point zero zero one"),
    ("1/2 cup", "one half cup"),
    ("3/4 of it", "three quarters of it"),
    ("24/7", "twenty four seven"),
    ("-3 degrees", "minus three degrees"),
    ("at 10:30", "at ten thirty"),
    # currency and percentages
    ("I paid $3.50", "i paid three dollars fifty cents"),
    ("$1.5 million", "one point five million dollars"),
    ("£5 and €10", "five pounds and ten euros"),
    ("€3.50", "three euros fifty cents"),
    ("¥500", "five hundred yen"),
    ("50% & more", "fifty percent and more"),
    # units, time of day, degrees, decades, symbols
    ("5kg", "five kilograms"),
    ("100 km", "one hundred kilometers"),
    ("7pm", "seven p m"),
    ("at 7 p.m.", "at seven p m"),
    ("30°C", "thirty degrees celsius"),
    ("the 1990s", "the nineteen nineties"),
    ("the '60s", "the sixties"),
    ("#1 hit", "number one hit"),
    ("No. 5", "number five"),
    ("3 + 4 = 7", "three plus four equals seven"),
    ("x@y.com", "x at y dot com"),
    # abbreviations, Roman numerals
    ("Dr. Smith met Mr. Jones", "doctor smith met mister jones"),
    ("St. Mark's on Baker St.", "saint mark's on baker street"),
    ("Mrs. Doe vs. Prof. Roe", "missus doe versus professor roe"),
    ("e.g. apples, etc.", "for example apples et cetera"),
    ("Henry VIII", "henry the eighth"),
    ("World War II", "world war two"),
    ("the U.S.A.", "the u s a"),
    # quotes, apostrophes, hyphens, punctuation, accents
    ("Don\u2019t \u201cquote\u201d me", "don't quote me"),
    ("O'Brien's rock'n'roll", "o'brien's rock'n'roll"),
    ("well-known ten-year-old", "well known ten year old"),
    ("wait \u2014 what\u2026", "wait what"),
    ("\u00abquoted\u00bb", "quoted"),
    ("Caf\u00e9 Zdzis\u0142aw", "cafe zdzislaw"),
    ("na\u00efve Z\u00fcrich", "naive zurich"),
    ("S\u00e3o Paulo", "sao paulo"),
    ("Dvo\u0159\u00e1k", "dvorak"),
]


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.mark.parametrize(("text", "spoken"), TABLE)
def test_hard_text_is_read_as_spoken(lexicon, text, spoken):
    words = transcript_words(text, lexicon)
    assert " ".join(w.text for w in words) == spoken
    for w in words:  # every word gets at least one pronunciation, of ARPAbet phones
        assert w.pronunciations and all(w.pronunciations)
        assert all(p.rstrip("012").isalpha() and p.isupper() for p in w.pronunciations[0])


def test_table_is_large_enough():
    assert len(TABLE) >= 40


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("one half", [("W", "AH1", "N"), ("HH", "AE1", "F")]),
        ("minus three", [("M", "AY1", "N", "AH0", "S"), ("TH", "R", "IY1")]),
        ("number five", [("N", "AH1", "M", "B", "ER0"), ("F", "AY1", "V")]),
    ],
)
def test_spelled_out_words_take_dictionary_phones(lexicon, text, phones):
    words = transcript_words(text, lexicon)
    assert [w.pronunciations[0] for w in words] == phones
    assert {w.source for w in words} == {"cmudict"}


def test_names_not_in_the_dictionary_are_reported_as_neural(lexicon):
    words = {w.text: w for w in transcript_words("Zdzislaw Nguyen Lodz", lexicon)}
    assert words["zdzislaw"].source == "neural"
    assert words["zdzislaw"].pronunciations[0][0] == "Z"
    assert words["lodz"].source == "neural"
