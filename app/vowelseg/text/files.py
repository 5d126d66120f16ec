"""Transcript files: plain text (``.txt``, ``.lab``), and TIMIT's ``.txt``, whose
one line starts with the utterance's first and last sample (``0 54682 She had
your dark suit…``)."""

from __future__ import annotations

import re
from pathlib import Path

from vowelseg.errors import TranscriptError

#: Audio files the CLI and ``batch`` pick up, and the transcript files beside them
#: (same name, another suffix), in the order they are looked for.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
TRANSCRIPT_SUFFIXES = (".lab", ".txt")

_TIMIT_LINE = re.compile(r"\s*(0)\s+([1-9]\d*)\s+(.*\S)\s*", re.DOTALL)


def transcript_text(text: str) -> str:
    """The words of a transcript file's contents: TIMIT's leading sample offsets
    dropped (a single line: 0, the last sample, then words), anything else as
    it is."""
    match = _TIMIT_LINE.fullmatch(text)
    if match and "\n" not in match.group(3).strip() and re.search(r"[^\W\d_]", match.group(3)):
        return match.group(3)
    return text


def read_transcript(path: Path) -> str:
    """The words of a transcript file (UTF-8; undecodable bytes replaced).

    Raises
    ------
    TranscriptError
        If the file cannot be read.
    """
    try:
        return transcript_text(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise TranscriptError(f"cannot read the transcript file {path}: "
                              f"{exc.strerror or exc}") from exc


def transcript_beside(audio: Path) -> Path | None:
    """The transcript file beside ``audio`` (``a.wav`` -> ``a.lab`` or ``a.txt``), if any."""
    return next((p for p in (Path(audio).with_suffix(s) for s in TRANSCRIPT_SUFFIXES)
                 if p.is_file()), None)
