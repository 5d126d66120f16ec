"""Transcript to phones: dictionary variants, neural fallback, spelled-out symbols."""

from __future__ import annotations

import pytest
from vowelseg.errors import TranscriptError
from vowelseg.text.g2p import expand_text, load_lexicon, tokenize, transcript_words


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


def test_syllabic_consonants_are_offered(lexicon):
    words = {w.text: w.pronunciations for w in transcript_words(
        "bottle button happened apples ruin lemonade", lexicon)}
    assert ("B", "AA1", "T", "L") in words["bottle"]
    assert ("B", "AH1", "T", "N") in words["button"]
    assert ("HH", "AE1", "P", "N", "D") in words["happened"]
    assert ("AE1", "P", "L", "Z") in words["apples"]
    assert words["bottle"][0] == ("B", "AA1", "T", "AH0", "L")  # the dictionary's first
    assert all(len(p) == 4 for p in words["ruin"])  # the schwa follows a vowel
    assert len(words["lemonade"]) == 1  # not word-final


def test_syllabic_consonants_are_found_where_the_labeller_heard_them(timit):
    # timit-dev words the labeller wrote with el/en/em whose dictionary form has
    # the schwa: the aligner should mostly pick the variant without it
    from vowelseg.pipeline import load_resources, segment
    from vowelseg.text.g2p import pronounce, syllabic_variants
    from vowelseg_lab.training.corpus import read_corpus

    resources = load_resources()
    dropped = []
    for utt in read_corpus(timit):
        wanted = set()
        for text, start_s, end_s in utt.words:
            labels = {p for p, a, b in utt.phones if a >= start_s - 1e-3 and b <= end_s + 1e-3}
            first = pronounce(text.lower(), resources.lexicon).pronunciations[0]
            if labels & {"el", "en", "em"} and syllabic_variants(first):
                wanted.add(text.lower())
        if not wanted:
            continue
        for word in segment(utt.wav.read_bytes(), utt.text, resources).words:
            if word.word in wanted:
                dropped.append("AH0" not in word.pronunciation[-3:])
    assert len(dropped) >= 12
    assert sum(dropped) / len(dropped) >= 0.6, dropped  # 13 of 17 when written


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

    code = ("import sys, vowelseg.pipeline as p; p.load_resources(); "
            "from vowelseg.text.g2p import transcript_words; "
            "transcript_words('Zdzislaw paid $3.50 in 1999', p.load_resources().lexicon); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nltk', 'g2p_en')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
