"""From an alignment path to timed words, phones, vowels and pauses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vowelseg.align.alignment import Alignment
from vowelseg.align.graph import GARBAGE_WORD
from vowelseg.measures import VowelMeasures
from vowelseg.phones import base_phone, broad_class, phone_class
from vowelseg.warning_codes import WarningCode


@dataclass(frozen=True)
class PhoneInterval:
    """A phone in time. ``word`` indexes :attr:`Segmentation.words`."""

    phone: str
    start: float
    end: float
    cls: str
    word: int
    confidence: float = 1.0


@dataclass(frozen=True)
class WordInterval:
    """A word in time, with the pronunciation the aligner chose."""

    word: str
    start: float
    end: float
    pronunciation: tuple[str, ...]
    source: str
    found: bool = True
    confidence: float = 1.0


class ReplyWarning(BaseModel):
    """Something doubtful about a reply: a stable ``code`` for programs and a
    ``message`` for a person (:mod:`vowelseg.quality` says when each is given).
    A field of :class:`vowelseg.reply.Reply` as it is of :class:`Segmentation`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: WarningCode = Field(description="stable, for programs (when each is given: the "
                                          "table below)")
    message: str = Field(description="for a person")

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message)


@dataclass(frozen=True)
class Segmentation:
    """The result of :func:`vowelseg.pipeline.segment`. Times in seconds from the
    start of the original file; ``vtln_warp`` is the mel-filter warp the voice
    was analysed with (:mod:`vowelseg.hmm.vtln`; 1: none); ``warnings``
    what is doubtful about it (empty when all is well); ``measures`` one
    :class:`~vowelseg.measures.VowelMeasures` per vowel, in order, when asked for."""

    duration: float
    sample_rate: int
    words: list[WordInterval]
    phones: list[PhoneInterval]
    pauses: list[tuple[float, float]]
    untranscribed: list[tuple[float, float]] = field(default_factory=list)
    vtln_warp: float = 1.0
    warnings: tuple[ReplyWarning, ...] = ()
    measures: tuple[VowelMeasures, ...] = ()

    @property
    def vowels(self) -> list[PhoneInterval]:
        """The phones of class ``"vowel"``."""
        return [p for p in self.phones if p.cls == "vowel"]


def frame_edge_s(frame: float, hop_s: float, duration_s: float) -> float:
    """Time of the edge before ``frame`` (frame ``t`` is centred on ``t*hop_s``)."""
    return float(min(duration_s, max(0.0, (frame - 0.5) * hop_s)))


#: Confidence = exp(LLR / CONFIDENCE_SCALE_NATS), LLR being the mean per-frame
#: log-likelihood ratio of the aligned states against the best state of any
#: phone at each frame (a free state loop): 1 = as good as unconstrained decoding.
CONFIDENCE_SCALE_NATS = 4.0
#: Below this a word or phone is reported as doubtful (``"low_confidence"``).
LOW_CONFIDENCE = 0.2


def confidence_of(llr: float) -> float:
    """Map a mean per-frame log-likelihood ratio (<= 0) to (0, 1]."""
    return round(float(np.exp(min(0.0, llr) / CONFIDENCE_SCALE_NATS)), 3)


def build_segmentation(alignment: Alignment) -> tuple[Segmentation, Timeline]:
    """Turn an alignment into a :class:`Segmentation` and its :class:`Timeline`.

    Each phone's confidence comes from its run's mean log-likelihood ratio
    (:func:`confidence_of`); the boundaries are the posterior's run starts
    (``alignment.starts``) where it has them, else the path's frame edges. A run
    that the posterior left no time is dropped.
    """
    graph, hop_s, duration_s = alignment.graph, alignment.hop_s, alignment.duration_s
    n_frames = alignment.n_frames
    run_starts, spreads = alignment.starts, alignment.spreads
    run_llr = alignment.run_llr()
    phones: list[PhoneInterval] = []
    pauses: list[tuple[float, float]] = []
    untranscribed: list[tuple[float, float]] = []
    units: list[Unit] = []
    unit_llr: list[float] = []
    phone_at: list[int] = []
    at: list[int] = []
    spread_s: list[float] = []
    after_unit = False  # the last run kept was a phone or a pause (not the filler)
    for k, (slot_index, a, b) in enumerate(alignment.runs.tolist()):
        slot = graph.slots[slot_index]
        first = a if run_starts is None else run_starts[k]
        end_frame = b if run_starts is None or b == n_frames else run_starts[k + 1]
        start = frame_edge_s(first, hop_s, duration_s)
        end = duration_s if b == n_frames else frame_edge_s(end_frame, hop_s, duration_s)
        if end <= start:
            continue
        span = (round(start, 5), round(end, 5))
        if slot.word == GARBAGE_WORD:
            untranscribed.append(span)
            after_unit = False
            continue
        if after_unit:  # touches the unit before it
            at.append(len(units) - 1)
            spread = np.nan if spreads is None else spreads[k]
            spread_s.append(spread * hop_s if np.isfinite(spread) else np.nan)
        if slot.word < 0:
            pauses.append(span)
            units.append(("SIL", *span))
            unit_llr.append(0.0)
        else:
            llr = float(run_llr[k])
            phone_at.append(len(units))
            phones.append(PhoneInterval(slot.phone, *span, phone_class(slot.phone), slot.word,
                                        confidence_of(llr)))
            units.append((slot.phone, *span))
            unit_llr.append(llr)
        after_unit = True
    words = alignment.words
    timed = word_intervals([w.text for w in words], [w.source for w in words], phones)
    seg = Segmentation(round(duration_s, 5), alignment.sample_rate, timed, phones, pauses,
                       untranscribed, vtln_warp=alignment.warp)
    return seg, Timeline(units, phone_at, at, np.array(unit_llr), np.array(spread_s, dtype=float))


def word_intervals(texts: list[str], sources: list[str],
                   phones: list[PhoneInterval]) -> list[WordInterval]:
    """Each transcript word's span, chosen pronunciation and confidence, from its
    phones (one pass). A word left out by the aligner (not spoken) comes back
    with ``found=False``, no phones and zero length where it would have been."""
    mine: list[list[PhoneInterval]] = [[] for _ in texts]
    for p in phones:
        mine[p.word].append(p)
    out: list[WordInterval] = []
    t = 0.0
    for text, source, ps in zip(texts, sources, mine, strict=True):
        if not ps:
            out.append(WordInterval(text, t, t, (), source, found=False, confidence=0.0))
            continue
        weights = np.array([p.end - p.start for p in ps])
        logs = np.log(np.maximum([p.confidence for p in ps], 1e-6))
        conf = float(np.exp((weights * logs).sum() / max(1e-9, weights.sum())))
        out.append(WordInterval(text, ps[0].start, ps[-1].end, tuple(p.phone for p in ps),
                                source, True, round(conf, 3)))
        t = ps[-1].end
    return out


def boundary_key(left: str, right: str) -> str:
    """Name of a boundary type: ``"vowel>stop"`` (broad classes of the two phones)."""
    return f"{broad_class(left)}>{broad_class(right)}"


def pair_key(left: str, right: str) -> str:
    """Name of a boundary between two given phones: ``"AE>T"`` (stress dropped;
    a pause is ``SIL``)."""
    return f"{base_phone(left)}>{base_phone(right)}"


#: A phone's shortest span after its boundaries are moved, seconds.
MIN_PHONE_S = 0.01

Unit = tuple[str, float, float]


@dataclass(frozen=True)
class Timeline:
    """A segmentation's phones and pauses in time order, indexed as the
    boundary stages read and move them.

    Attributes
    ----------
    units : list of (phone, start_s, end_s)
        Phones and pauses (``"SIL"``) in time order.
    phone_units : list of int
        Per phone of the segmentation, its index in ``units``.
    at : list of int
        The boundaries between touching units: ``i`` where unit ``i`` ends as
        unit ``i + 1`` starts.
    llr : np.ndarray
        ``(len(units),)`` each unit's mean per-frame log-likelihood ratio against
        the best state of any phone, nats (0 for pauses).
    spread_s : np.ndarray
        ``(len(at),)`` the standard deviation of each boundary's place under the
        posterior, seconds (NaN where the path's frame edge was kept).
    """

    units: list[Unit]
    phone_units: list[int]
    at: list[int]
    llr: np.ndarray
    spread_s: np.ndarray

    def word_units(self, seg: Segmentation) -> list[tuple[int, int]]:
        """Per found word of ``seg``, the unit indices of its first and last phones."""
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for p, i in zip(seg.phones, self.phone_units, strict=True):
            first.setdefault(p.word, i)
            last[p.word] = i
        return [(first[w], last[w]) for w in sorted(first)]

    def moved(self, shifts_s: Sequence[float], min_phone_s: float = MIN_PHONE_S) -> Timeline:
        """This timeline with each boundary ``at[k]`` moved by ``shifts_s[k]``
        (:func:`moved`)."""
        return replace(self, units=moved(self.units, self.at, shifts_s, min_phone_s))


def timeline(seg: Segmentation) -> Timeline:
    """The :class:`Timeline` of a segmentation read from a file or an older
    alignment, without the fit (``llr`` 0) or the posterior (``spread_s`` NaN):
    phones and pauses merged in time order."""
    units = [(p.phone, p.start, p.end) for p in seg.phones]
    units += [("SIL", a, b) for a, b in seg.pauses]
    order = sorted(range(len(units)), key=lambda i: (units[i][1], units[i][2]))
    where = np.empty(len(units), dtype=int)
    where[order] = np.arange(len(units))
    units = [units[i] for i in order]
    at = touching(units)
    return Timeline(units, where[:len(seg.phones)].tolist(), at, np.zeros(len(units)),
                    np.full(len(at), np.nan))


def touching(units: Sequence[Unit]) -> list[int]:
    """The boundaries between touching units: ``i`` for each unit ``i`` that
    ends where unit ``i + 1`` starts."""
    return [i for i in range(len(units) - 1) if abs(units[i][2] - units[i + 1][1]) < 1e-9]


def moved(units: Sequence[Unit], at: Sequence[int], shifts_s: Sequence[float],
          min_phone_s: float = MIN_PHONE_S) -> list[Unit]:
    """``units`` with each boundary ``at[k]`` (:func:`touching`) moved by
    ``shifts_s[k]``, in order, every unit kept at least ``min_phone_s`` long."""
    out = [list(u) for u in units]
    for k, i in enumerate(at):
        left, right = out[i], out[i + 1]
        t = left[2] + float(shifts_s[k])
        t = min(max(t, left[1] + min_phone_s), right[2] - min_phone_s)
        if left[1] + min_phone_s <= t <= right[2] - min_phone_s:
            left[2] = right[1] = round(t, 5)
    return [tuple(u) for u in out]


def with_units(seg: Segmentation, line: Timeline) -> Segmentation:
    """``seg`` with its phones' and pauses' times taken from its timeline
    ``line`` (moved), its words' spans following."""
    units = line.units
    phones = [replace(p, start=units[i][1], end=units[i][2])
              for p, i in zip(seg.phones, line.phone_units, strict=True)]
    words = word_intervals([w.word for w in seg.words], [w.source for w in seg.words], phones)
    return replace(seg, phones=phones, words=words,
                   pauses=[(u[1], u[2]) for u in units if u[0] == "SIL"])


def shift_boundaries(seg: Segmentation, line: Timeline, offsets_s: dict[str, float],
                     min_phone_s: float = MIN_PHONE_S) -> tuple[Segmentation, Timeline]:
    """Move every boundary between two touching phones (pauses included) by the
    learned offset of its phone pair, or else of its type, keeping each phone at
    least ``min_phone_s`` long.

    Parameters
    ----------
    seg, line : Segmentation, Timeline
        An alignment and its timeline.
    offsets_s : dict
        Seconds to add to a boundary's time, by :func:`pair_key` (``"AE>T"``)
        and by :func:`boundary_key` (``"vowel>stop"``, for pairs not listed).

    Returns
    -------
    Segmentation, Timeline
        Both with the boundaries moved.
    """
    if not offsets_s:
        return seg, line
    units = line.units
    shifts = [offsets_s.get(pair_key(units[i][0], units[i + 1][0]),
                            offsets_s.get(boundary_key(units[i][0], units[i + 1][0]), 0.0))
              for i in line.at]
    line = line.moved(shifts, min_phone_s)
    return with_units(seg, line), line
