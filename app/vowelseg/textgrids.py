"""Reading an existing alignment from a Praat TextGrid, so its vowels can be
measured: vowelseg's own TextGrids and the Montreal Forced Aligner's (a
``phones`` tier of ARPAbet with stress digits, a ``words`` tier; MFA names them
``words``/``phones`` or ``SPEAKER - words``/``SPEAKER - phones``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from vowelseg.errors import TranscriptError
from vowelseg.phones import CONSONANTS, VOWELS, base_phone, phone_class
from vowelseg.result import PhoneInterval, Segmentation, WordInterval

#: Labels that mark silence or unknown speech rather than a phone.
SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "SIL", "SP", "SPN", "<eps>", "<unk>"})
#: How far an interval may reach past the audio's end (rounding), seconds.
END_TOLERANCE_S = 0.02


class TextGridError(TranscriptError):
    """A TextGrid that cannot be measured: unreadable, no phone tier, labels that
    are not ARPAbet, intervals outside the audio."""


def _tier(grid, wanted: str | None, kind: str):  # noqa: ANN001, ANN202 (praatio's types)
    names = list(grid.tierNames)
    if wanted is not None:
        if wanted not in names:
            raise TextGridError(f"the TextGrid has no tier {wanted!r} (its tiers: "
                                f"{', '.join(names) or 'none'})")
        return grid.getTier(wanted)
    for name in names:
        if name.lower() == kind or name.lower().endswith(f" - {kind}"):
            return grid.getTier(name)
    return None


def read_alignment(text: str, duration_s: float, sample_rate: int,
                   tier: str | None = None) -> Segmentation:
    """The phones and words of a TextGrid as a :class:`Segmentation` (no pauses,
    confidences 1).

    Parameters
    ----------
    text : str
        The TextGrid file's contents (long or short format).
    duration_s : float
        Length of the audio it belongs to.
    sample_rate : int
        The audio's rate (recorded in the result).
    tier : str, optional
        Name of the phone tier; by default ``phones`` (or ``… - phones``).

    Raises
    ------
    TextGridError
        Unreadable, no phone tier, a label that is not ARPAbet, or an interval
        past the audio's end.
    """
    from praatio import textgrid

    with tempfile.TemporaryDirectory(prefix="vowelseg-tg-") as tmp:
        path = Path(tmp) / "in.TextGrid"
        path.write_text(text)
        try:
            grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False,
                                         reportingMode="silence")
        except Exception as exc:  # praatio raises many kinds for a malformed file
            raise TextGridError(f"could not read the TextGrid ({exc})") from exc
    phones_tier = _tier(grid, tier, "phones")
    if phones_tier is None:
        raise TextGridError(f"the TextGrid has no phone tier (its tiers: "
                            f"{', '.join(grid.tierNames) or 'none'}): name it 'phones', or "
                            "give its name with --tier / the 'tier' field")
    entries = [e for e in phones_tier.entries if e.label.strip() not in SILENCE_LABELS]
    known = VOWELS | CONSONANTS
    strange = sorted({e.label for e in entries if base_phone(e.label.strip()) not in known})
    if strange:
        raise TextGridError(f"the phone tier has labels that are not ARPAbet "
                            f"({', '.join(strange[:8])}{' …' if len(strange) > 8 else ''}): "
                            "vowelseg measures ARPAbet phones with stress digits, such as "
                            "AA1 or IY0")
    late = [e for e in entries if e.end > duration_s + END_TOLERANCE_S]
    if late:
        raise TextGridError(f"the TextGrid has intervals up to {max(e.end for e in late):.3f} "
                            f"s, past the audio's end at {duration_s:.3f} s: is it the "
                            "TextGrid of this recording?")
    words_tier = _tier(grid, None, "words")
    word_entries = ([e for e in words_tier.entries if e.label.strip() not in SILENCE_LABELS]
                    if words_tier is not None else [])
    words = [WordInterval(e.label.strip(), e.start, e.end, (), "textgrid")
             for e in word_entries]

    def word_of(start: float, end: float) -> int:
        middle = (start + end) / 2
        return next((i for i, w in enumerate(words) if w.start <= middle < w.end), -1)

    phones = [PhoneInterval(e.label.strip(), round(e.start, 5), round(e.end, 5),
                            phone_class(e.label.strip()), word_of(e.start, e.end))
              for e in entries]
    return Segmentation(round(duration_s, 5), sample_rate, words, phones, [])
