"""Shared fixtures: the bundled model, the HTTP client, real audio sources; the
mark of tests that need the lab's [train] extra."""

from __future__ import annotations

import functools
import importlib.util
import io
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf
import soxr
from fastapi.testclient import TestClient
from vowelseg.pipeline import load_resources
from vowelseg.service.api import create_app
from vowelseg_lab.training.synth import available_voices, synthesize

ROOT = Path(__file__).resolve().parent.parent
TIMIT = ROOT.parent / "shared" / "data" / "timit-dev"

#: The [train] extra (hmmlearn, scikit-learn, librosa, LightGBM), which the
#: training recipes need; the product and its tests do not.
MISSING_TRAIN = [name for name in ("hmmlearn", "sklearn", "librosa", "lightgbm")
                 if importlib.util.find_spec(name) is None]

#: A test that runs the training recipes (or compares with librosa): skipped, with
#: the reason, where the [train] extra is not installed.
needs_train = pytest.mark.skipif(
    bool(MISSING_TRAIN), reason=f"needs the [train] extra ({', '.join(MISSING_TRAIN)} not "
                                "installed): pip install -e '.[train]'")

#: Sentences for synthetic tests; not the training recipe's random word strings.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
)


@pytest.fixture(scope="session")
def resources():
    return load_resources()


@pytest.fixture(scope="session")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="session")
def timit() -> Path:
    if not (TIMIT / "manifest.tsv").exists():
        pytest.skip("../shared/data/timit-dev is not beside the repository")
    return TIMIT


@pytest.fixture(scope="session")
def voices() -> list[str]:
    found = available_voices()
    if not found:
        pytest.skip("espeak-ng/MBROLA voices are not installed (see .ci/run)")
    return found


@pytest.fixture(scope="session")
def synthetic(voices):
    """Exactly-labelled MBROLA sentences, one voice after another, with silence padding."""
    out = []
    for i, text in enumerate(SENTENCES):
        speech = synthesize(text, voices[i % len(voices)], rate_wpm=150 + 10 * i)
        out.append((text, pad(speech, 0.3)))
    return out


def pad(speech, seconds: float):
    """Put ``seconds`` of low noise before and after a LabelledSpeech."""
    from vowelseg_lab.training.synth import LabelledSpeech

    rng = np.random.default_rng(0)
    n = int(seconds * speech.sample_rate)
    y = np.concatenate([np.zeros(n), speech.samples, np.zeros(n)])
    y = (y + 1e-3 * rng.standard_normal(len(y))).astype(np.float32)
    phones = [("SIL", 0.0, seconds)] + [(p, s + seconds, e + seconds) for p, s, e in speech.phones]
    phones.append(("SIL", phones[-1][2], len(y) / speech.sample_rate))
    return LabelledSpeech(y, speech.sample_rate, phones, speech.voice)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def resample(y: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """``y`` at another sample rate: soxr's HQ filter and ``ceil(n * ratio)``
    samples, the same values as ``librosa.resample``'s default (checked)."""
    out = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")
    n = int(np.ceil(len(y) * float(target_sr) / orig_sr))
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    return np.asarray(out, dtype=y.dtype)


@functools.cache
def docs_tables() -> ModuleType:
    """``docs/tables.py``, the README's table generator (a script beside the package)."""
    spec = importlib.util.spec_from_file_location("docs_tables", ROOT / "docs" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
