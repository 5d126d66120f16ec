"""Acoustic model: left-to-right HMMs with diagonal-Gaussian-mixture states.

A model is plain arrays in a :class:`AcousticModel`; it is stored as
``NAME.npz`` (arrays, loaded with ``allow_pickle=False``) beside
``NAME.json`` (phone list, feature settings and the model card).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vowelseg.errors import ModelError
from vowelseg.features.mfcc import FeatureConfig
from vowelseg.hmm.gmm import Mixtures
from vowelseg.phones import SILENCE


def _bundled_dir() -> Path:
    """The bundled models: package data ``vowelseg.models`` when installed from
    a wheel, the repository's ``models/`` folder in a source checkout."""
    installed = Path(__file__).resolve().parents[1] / "models"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[3] / "models"


MODELS_DIR = _bundled_dir()
#: The bundled model: synthetic-speech prior adapted to hand-labelled real speech.
DEFAULT_MODEL = MODELS_DIR / "vowelseg-en"
#: The prior, trained on synthetic speech only (no licence strings attached).
SYNTHETIC_MODEL = MODELS_DIR / "vowelseg-en-synthetic"


def bundled_models() -> list[str]:
    """Names of the models shipped with the package (a model is NAME.npz with
    its NAME.json; a boundary model beside it is not one)."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.npz") if p.with_suffix(".json").exists())


def shown_path(path: Path | str) -> str:
    """A path as a user would type it: a bundled model as ``models/NAME`` (its
    place in the repository), anything else as given."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(MODELS_DIR.parent))
    except ValueError:
        return str(path)


def resolve_model(spec: str | Path) -> Path:
    """The model path (without suffix) that ``spec`` names.

    ``spec`` is a bundled model's name (``vowelseg-en``), or the path of a
    model with or without its ``.json``/``.npz`` suffix. ``models/NAME``
    typed outside the repository is the bundled model NAME; any other path
    must exist.

    Raises
    ------
    ModelError
        If ``spec`` names no model; the message lists the bundled ones.
    """
    path = Path(spec)
    if path.suffix in (".json", ".npz"):
        path = path.with_suffix("")
    candidates = [path]
    if path.parent in (Path("."), Path("models")):  # a name, or models/NAME outside the repo
        candidates.append(MODELS_DIR / path.name)
    for candidate in candidates:
        if candidate.with_suffix(".json").is_file() and candidate.with_suffix(".npz").is_file():
            return candidate
    raise ModelError(f"no acoustic model {str(spec)!r}: give a bundled model's name "
                     f"({', '.join(bundled_models())}) or the path of a model's .json/.npz "
                     "pair")


@dataclass(frozen=True)
class AcousticModel:
    """Per-phone HMMs.

    Attributes
    ----------
    phones : tuple of str
        Phone names; index ``p`` refers to row ``p`` of every array.
    weights : np.ndarray
        ``(n_phones, n_states, n_mix)`` mixture weights.
    means, variances : np.ndarray
        ``(n_phones, n_states, n_mix, dim)`` diagonal Gaussians.
    stay_logprob : np.ndarray
        ``(n_phones, n_states)`` log probability of staying in a state;
        leaving goes to the next state (or out of the phone).
    features : FeatureConfig
        The feature settings the model was trained with.
    card : dict
        Free-form model card (training data, recipe, measured figures).
    boundary_offsets : dict
        Seconds to add to each boundary type (``"vowel>stop"``) and phone
        pair (``"AE>T"``), learned from labelled speech (:mod:`vowelseg_lab.training.refine`);
        empty for none.
    vtln_warps : tuple of float
        Mel-filter warps to choose from per recording (:mod:`vowelseg.hmm.vtln`), as
        the recipe stored them; empty: no vocal-tract-length normalisation.
    min_durations_s : dict
        Shortest duration, seconds, the alignment gives each phone (``"AE"``),
        learned from labelled speech (:func:`vowelseg_lab.training.recipe.learn_min_durations`);
        a phone not in it, or shorter than ``n_states`` frames, takes one frame
        per state. Empty: the plain topology.
    variant_rates : dict
        How often each pronunciation rule of :mod:`vowelseg.text.variants`
        applies, learned from labelled speech; empty: the dictionary's
        pronunciations only.
    """

    phones: tuple[str, ...]
    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    stay_logprob: np.ndarray
    features: FeatureConfig
    card: dict = field(default_factory=dict)
    boundary_offsets: dict = field(default_factory=dict)
    vtln_warps: tuple[float, ...] = ()
    min_durations_s: dict = field(default_factory=dict)
    variant_rates: dict = field(default_factory=dict)

    @property
    def n_states(self) -> int:
        """HMM states per phone."""
        return int(self.means.shape[1])

    @property
    def n_columns(self) -> int:
        """Columns of a state score matrix: column ``p * n_states + s``
        (:meth:`column`) is state ``s`` of phone ``p``."""
        return len(self.phones) * self.n_states

    def column(self, phone_index: int, state: int) -> int:
        """Score-matrix column of state ``state`` of phone ``phone_index``."""
        return phone_index * self.n_states + state

    def phone_columns(self, phone_index: int) -> slice:
        """The score-matrix columns of one phone's states."""
        return slice(self.column(phone_index, 0), self.column(phone_index + 1, 0))

    @property
    def silence_columns(self) -> slice:
        """The columns of the pause model's states."""
        return self.phone_columns(self.index(SILENCE))

    @property
    def filler_column(self) -> int:
        """Column of the untranscribed-speech filler, appended after the phones'
        (:func:`vowelseg.align.search.with_garbage`)."""
        return self.n_columns

    @functools.cached_property
    def mixtures(self) -> Mixtures:
        """The states' Gaussian mixtures, one per column, for
        :mod:`vowelseg.hmm.gmm` (its precomputed tables kept with it)."""
        n_mix, dim = self.means.shape[2:]
        return Mixtures(self.weights.reshape(-1, n_mix),
                        self.means.reshape(-1, n_mix, dim),
                        self.variances.reshape(-1, n_mix, dim))

    def index(self, phone: str) -> int:
        """Row of ``phone`` in the model arrays."""
        try:
            return self.phones.index(phone)
        except ValueError:
            raise ModelError(f"phone {phone!r} is not in the acoustic model") from None

    def min_frames(self, phone: str) -> int:
        """Fewest frames ``phone`` may take (at least one per state)."""
        seconds = self.min_durations_s.get(phone, 0.0)
        return max(self.n_states, int(round(seconds / self.features.hop_s)))


def leave_logprob(stay_logprob: np.ndarray) -> np.ndarray:
    """Log probability of leaving each state, given the stay log probability."""
    return np.log1p(-np.exp(np.minimum(stay_logprob, -1e-6)))


def duration_from_stay(stay_logprob: np.ndarray) -> np.ndarray:
    """Mean duration in frames of a state with this stay log probability (a
    geometric duration: ``1 / (1 - stay)``); the inverse of
    :func:`stay_from_duration`."""
    return 1.0 / (1.0 - np.exp(stay_logprob))


def even_split(n_frames: int, n_states: int) -> np.ndarray:
    """State index per frame when ``n_frames`` are cut into ``n_states`` equal
    parts in order (HTK's uniform segmentation)."""
    return (np.arange(n_frames) * n_states) // n_frames


def stay_from_duration(mean_frames: np.ndarray) -> np.ndarray:
    """Stay log probability that gives each state a mean duration of
    ``mean_frames`` (a geometric duration: ``1 / (1 - stay)`` frames); at least
    just over one frame."""
    return np.log(1.0 - 1.0 / np.maximum(mean_frames, 1.0 + 1e-3))


def save_model(model: AcousticModel, path: Path) -> None:
    """Write ``path.npz`` and ``path.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path.with_suffix(".npz"),
        weights=model.weights.astype(np.float32),
        means=model.means.astype(np.float32),
        variances=model.variances.astype(np.float32),
        stay_logprob=model.stay_logprob.astype(np.float32),
    )
    meta = {
        "format": "vowelseg-hmm-1",
        "phones": list(model.phones),
        "features": model.features.to_dict(),
        "boundary_offsets": model.boundary_offsets,
        "vtln_warps": list(model.vtln_warps),
        "min_durations_s": model.min_durations_s,
        "variant_rates": model.variant_rates,
        "card": model.card,
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def load_model(path: Path = DEFAULT_MODEL) -> AcousticModel:
    """Read a model written by :func:`save_model`."""
    path = Path(path)
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
            data = {k: arrays[k].astype(np.float64) for k in arrays.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read acoustic model {path}: {exc}") from exc
    if meta.get("format") != "vowelseg-hmm-1":
        raise ModelError(f"{path}.json is not a vowelseg model file")
    return AcousticModel(
        phones=tuple(meta["phones"]),
        weights=data["weights"],
        means=data["means"],
        variances=data["variances"],
        stay_logprob=data["stay_logprob"],
        features=FeatureConfig(**meta["features"]),
        card=meta.get("card", {}),
        boundary_offsets={str(k): float(v) for k, v in meta.get("boundary_offsets", {}).items()},
        vtln_warps=tuple(float(w) for w in meta.get("vtln_warps", [])),
        min_durations_s={str(k): float(v) for k, v in meta.get("min_durations_s", {}).items()},
        variant_rates={str(k): float(v) for k, v in meta.get("variant_rates", {}).items()},
    )
