"""Other aligners, run through the same benchmark for side-by-side figures.

pocketsphinx (PyPI, BSD) ships an en-us acoustic model and does forced
alignment; its phone alignment is turned into a :class:`Segmentation` so
the benchmark scores it exactly as it scores vowelseg.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from vowelseg.audio.io import analysis_signal, read_audio
from vowelseg.phones import base_phone, phone_class
from vowelseg.result import PhoneInterval, Segmentation, WordInterval
from vowelseg.text.g2p import Lexicon, transcript_words

POCKETSPHINX_FRAME_S = 0.01


def pocketsphinx_decoder():
    """A pocketsphinx decoder on its bundled en-us model, quiet."""
    from pocketsphinx import Decoder

    return Decoder(lm=None, loglevel="FATAL")


def pocketsphinx_segment(decoder, audio_path: Path, transcript: str,
                         lexicon: Lexicon) -> Segmentation:
    """Align with pocketsphinx (two passes: words, then phones and states).

    The transcript is normalised by vowelseg's own G2P front end, and words
    missing from pocketsphinx's dictionary are added with vowelseg's
    pronunciation, so both aligners see the same words.
    """
    audio = read_audio(Path(audio_path).read_bytes())
    pcm = (np.clip(analysis_signal(audio, 16000), -1, 1) * 32767).astype("<i2").tobytes()
    words = transcript_words(transcript, lexicon)
    for word in words:
        if decoder.lookup_word(word.text) is None:
            phones = " ".join(base_phone(p) for p in word.pronunciations[0])
            decoder.add_word(word.text, phones, True)
    decoder.set_align_text(" ".join(w.text for w in words))
    for second_pass in (False, True):
        if second_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise RuntimeError("pocketsphinx found no alignment")
    out_words: list[WordInterval] = []
    out_phones: list[PhoneInterval] = []
    pauses: list[tuple[float, float]] = []
    duration = audio.duration_s
    for entry in alignment:
        start = entry.start * POCKETSPHINX_FRAME_S
        end = min(duration, (entry.start + entry.duration) * POCKETSPHINX_FRAME_S)
        name = entry.name.split("(")[0]
        if name.startswith("<") or name.startswith("["):
            pauses.append((start, end))
            continue
        index = len(out_words)
        phones = []
        for ph in entry:
            if ph.name == "SIL":
                continue
            p0 = ph.start * POCKETSPHINX_FRAME_S
            p1 = min(duration, (ph.start + ph.duration) * POCKETSPHINX_FRAME_S)
            phones.append(PhoneInterval(ph.name, p0, p1, phone_class(ph.name), index))
        out_phones += phones
        out_words.append(WordInterval(name, start, end, tuple(p.phone for p in phones),
                                      "pocketsphinx"))
    return Segmentation(duration, audio.sample_rate, out_words, out_phones, pauses)
