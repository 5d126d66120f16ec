"""TIMIT-format corpora: ``manifest.tsv`` + ``.phn``/``.wrd`` labels in samples.

Read by the benchmark (as reference) and by the training recipe (as
hand-labelled speech to adapt the model to).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from vowelseg.phones import base_phone
from vowelseg.result import Segmentation

TIMIT_RATE = 16000
REF_VOWELS = frozenset("iy ih eh ey ae aa aw ay ah ao oy ow uh uw ux er ax ix axr ax-h".split())
REF_PAUSES = frozenset("h# pau epi".split())
REF_EXCLUDED = frozenset("el em en eng".split())
CLOSURES = {"bcl": "b", "dcl": "d", "gcl": "g", "pcl": "p", "tcl": "t", "kcl": "k"}
RELEASES = {"bcl": {"b"}, "dcl": {"d", "jh"}, "gcl": {"g"}, "pcl": {"p"}, "tcl": {"t", "ch"},
            "kcl": {"k"}}
FOLD = {"ax": "AH", "ax-h": "AH", "ix": "IH", "axr": "ER", "ux": "UW", "el": "L", "em": "M",
        "en": "N", "eng": "NG", "nx": "N", "dx": "T", "hv": "HH"}
Interval = tuple[str, float, float]


@dataclass(frozen=True)
class Utterance:
    """One reference utterance: audio path, sentence, phone and word labels (s)."""

    utt_id: str
    wav: Path
    text: str
    phones: list[Interval]
    words: list[Interval]
    duration: float


def read_labels(path: Path) -> list[Interval]:
    """A TIMIT ``.phn``/``.wrd`` file as ``(label, start_s, end_s)``."""
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            rows.append((parts[2], int(parts[0]) / TIMIT_RATE, int(parts[1]) / TIMIT_RATE))
    return rows


def read_corpus(folder: Path) -> list[Utterance]:
    """The utterances listed in ``folder/manifest.tsv``."""
    folder = Path(folder)
    with open(folder / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        Utterance(
            utt_id=r["utt_id"], wav=folder / r["wav"], text=r["text"],
            phones=read_labels(folder / r["phn"]), words=read_labels(folder / r["wrd"]),
            duration=int(r["num_samples"]) / TIMIT_RATE,
        )
        for r in rows
    ]


def write_corpus(folder: Path, utterances: Iterable[tuple[str, str, np.ndarray,
                                                          Sequence[Interval],
                                                          Sequence[Interval]]]) -> int:
    """Write a TIMIT-format folder that :func:`read_corpus` reads back.

    Parameters
    ----------
    folder : Path
        Created if missing; ``manifest.tsv`` and one ``.wav``/``.phn``/``.wrd``/
        ``.txt`` per utterance are written in it.
    utterances : iterable of (utt_id, text, samples, phones, words)
        ``utt_id`` as ``speaker/name``; ``samples`` mono at 16 kHz; ``phones``
        ARPAbet (``"SIL"`` for pauses: ``h#`` at the ends, ``pau`` inside) and
        ``words``, both ``(label, start_s, end_s)``.

    Returns
    -------
    int
        The number of utterances written.
    """
    import soundfile as sf

    folder = Path(folder)
    rows = []
    for utt_id, text, samples, phones, words in utterances:
        (folder / utt_id).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{utt_id}.wav", samples, TIMIT_RATE, subtype="PCM_16")
        last = len(phones) - 1
        labels = [("h#" if i in (0, last) else "pau") if p == "SIL" else p.lower()
                  for i, (p, _, _) in enumerate(phones)]
        _write_labels(folder / f"{utt_id}.phn", [(lab, a, b) for lab, (_, a, b)
                                                 in zip(labels, phones, strict=True)])
        _write_labels(folder / f"{utt_id}.wrd", words)
        (folder / f"{utt_id}.txt").write_text(text + "\n")
        rows.append([utt_id, utt_id.split("/")[0], f"{utt_id}.wav", f"{utt_id}.phn",
                     f"{utt_id}.wrd", str(len(samples)), f"{len(samples) / TIMIT_RATE:.4f}",
                     text])
    with open(folder / "manifest.tsv", "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["utt_id", "speaker", "wav", "phn", "wrd", "num_samples",
                         "duration_s", "text"])
        writer.writerows(rows)
    return len(rows)


def _write_labels(path: Path, rows: Iterable[Interval]) -> None:
    path.write_text("".join(f"{round(a * TIMIT_RATE)} {round(b * TIMIT_RATE)} {lab}\n"
                            for lab, a, b in rows))


def speaker_of(utt: Utterance) -> str:
    """The speaker part of a ``speaker/utterance`` id."""
    return utt.utt_id.split("/")[0]


def fold_reference(phones: Sequence[Interval]) -> list[Interval]:
    """TIMIT phones folded to ARPAbet (closure+release = one stop, ``q`` merged
    into what precedes it, pauses to ``SIL``, consecutive pauses merged)."""
    out: list[list] = []
    i = 0
    while i < len(phones):
        label, start, end = phones[i]
        if label in CLOSURES:
            nxt = phones[i + 1] if i + 1 < len(phones) else None
            if nxt and nxt[0] in RELEASES[label] and abs(nxt[1] - end) < 1e-9:
                out.append([nxt[0].upper(), start, nxt[2]])
                i += 2
                continue
            out.append([CLOSURES[label].upper(), start, end])
        elif label == "q":
            if out:
                out[-1][2] = end
            else:
                out.append(["SIL", start, end])
        elif label in REF_PAUSES:
            if out and out[-1][0] == "SIL":
                out[-1][2] = end
            else:
                out.append(["SIL", start, end])
        else:
            out.append([FOLD.get(label, label.upper()), start, end])
        i += 1
    return [(lab, s, e) for lab, s, e in out]


def fold_hypothesis(seg: Segmentation | None, duration: float) -> list[Interval]:
    """Reply phones without stress digits; gaps and pauses become ``SIL``."""
    out: list[list] = []
    t = 0.0
    for p in [] if seg is None else seg.phones:
        if p.start > t + 1e-6:
            _append_sil(out, t, p.start)
        out.append([base_phone(p.phone), p.start, p.end])
        t = p.end
    if duration > t + 1e-6:
        _append_sil(out, t, duration)
    return [(lab, s, e) for lab, s, e in out]


def _append_sil(out: list[list], start: float, end: float) -> None:
    if out and out[-1][0] == "SIL":
        out[-1][2] = end
    else:
        out.append(["SIL", start, end])


def edit_alignment(ref: Sequence[str], hyp: Sequence[str]) -> list[int]:
    """For each ``ref`` item, the ``hyp`` index it aligns to (match or
    substitution) under a Levenshtein alignment, or -1 (deleted)."""
    n, m = len(ref), len(hyp)
    cost = np.zeros((n + 1, m + 1), dtype=np.int64)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    link = [-1] * n
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            link[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return link
