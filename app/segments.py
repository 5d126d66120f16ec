"""From an alignment path to timed words, phones, vowels and pauses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import AlignmentGraph, path_segments
from .g2p import Word
from .phones import broad_class, phone_class


@dataclass(frozen=True)
class PhoneInterval:
    """A phone in time. ``word`` indexes :attr:`Segmentation.words`."""

    phone: str
    start: float
    end: float
    cls: str
    word: int


@dataclass(frozen=True)
class WordInterval:
    """A word in time, with the pronunciation the aligner chose."""

    word: str
    start: float
    end: float
    pronunciation: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Segmentation:
    """The result of :func:`app.pipeline.segment`. Times in seconds from the
    start of the original file."""

    duration: float
    sample_rate: int
    words: list[WordInterval]
    phones: list[PhoneInterval]
    pauses: list[tuple[float, float]]

    @property
    def vowels(self) -> list[PhoneInterval]:
        """The phones of class ``"vowel"``."""
        return [p for p in self.phones if p.cls == "vowel"]


def frame_edge_s(frame: int, hop_s: float, duration_s: float) -> float:
    """Time of the edge before ``frame`` (frame ``t`` is centred on ``t*hop_s``)."""
    return float(min(duration_s, max(0.0, (frame - 0.5) * hop_s)))


def build_segmentation(
    graph: AlignmentGraph,
    path: np.ndarray,
    words: list[Word],
    hop_s: float,
    duration_s: float,
    sample_rate: int,
) -> Segmentation:
    """Turn a Viterbi frame path into a :class:`Segmentation`."""
    n_frames = len(path)
    phones: list[PhoneInterval] = []
    pauses: list[tuple[float, float]] = []
    for slot_index, a, b in path_segments(graph, path):
        slot = graph.slots[slot_index]
        start = frame_edge_s(a, hop_s, duration_s)
        end = duration_s if b == n_frames else frame_edge_s(b, hop_s, duration_s)
        if end <= start:
            continue
        if slot.word < 0:
            pauses.append((round(start, 5), round(end, 5)))
        else:
            phones.append(PhoneInterval(slot.phone, round(start, 5), round(end, 5),
                                        phone_class(slot.phone), slot.word))
    timed = word_intervals([w.text for w in words], [w.source for w in words], phones)
    return Segmentation(round(duration_s, 5), sample_rate, timed, phones, pauses)


def word_intervals(texts: list[str], sources: list[str],
                   phones: list[PhoneInterval]) -> list[WordInterval]:
    """Each word's span and chosen pronunciation, from its phones (one pass)."""
    mine: list[list[PhoneInterval]] = [[] for _ in texts]
    for p in phones:
        mine[p.word].append(p)
    return [WordInterval(text, ps[0].start, ps[-1].end, tuple(p.phone for p in ps), source)
            for text, source, ps in zip(texts, sources, mine, strict=True) if ps]


def boundary_key(left: str, right: str) -> str:
    """Name of a boundary type: ``"vowel>stop"`` (broad classes of the two phones)."""
    return f"{broad_class(left)}>{broad_class(right)}"


def shift_boundaries(seg: Segmentation, offsets_s: dict[str, float],
                     min_phone_s: float = 0.01) -> Segmentation:
    """Move every boundary between two touching phones (pauses included) by the
    learned offset of its type, keeping each phone at least ``min_phone_s`` long.

    Parameters
    ----------
    offsets_s : dict
        ``boundary_key -> seconds`` to add to the boundary's time.
    """
    if not offsets_s:
        return seg
    units = _timeline(seg)
    for i in range(len(units) - 1):
        left, right = units[i], units[i + 1]
        if abs(left[2] - right[1]) > 1e-9:
            continue
        shift = offsets_s.get(boundary_key(left[0], right[0]), 0.0)
        t = min(max(left[2] + shift, left[1] + min_phone_s), right[2] - min_phone_s)
        if left[1] + min_phone_s <= t <= right[2] - min_phone_s:
            left[2] = right[1] = round(t, 5)
    phones = [PhoneInterval(p.phone, u[1], u[2], p.cls, p.word)
              for p, u in zip(seg.phones, (u for u in units if u[3] is not None), strict=True)]
    pauses = [(u[1], u[2]) for u in units if u[3] is None]
    words = word_intervals([w.word for w in seg.words], [w.source for w in seg.words], phones)
    return Segmentation(seg.duration, seg.sample_rate, words, phones, pauses)


def _timeline(seg: Segmentation) -> list[list]:
    """Phones and pauses in time order as ``[phone, start, end, phone_or_None]``."""
    units = [[p.phone, p.start, p.end, p] for p in seg.phones]
    units += [["SIL", a, b, None] for a, b in seg.pauses]
    return sorted(units, key=lambda u: (u[1], u[2]))
