"""Acoustic model: left-to-right HMMs with diagonal-Gaussian-mixture states.

A model is plain arrays in a :class:`AcousticModel`; it is stored as
``NAME.npz`` (arrays, loaded with ``allow_pickle=False``) beside
``NAME.json`` (phone list, feature settings and the model card).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vowelseg.errors import ModelError
from vowelseg.features.mfcc import FeatureConfig

LOG_2PI = float(np.log(2.0 * np.pi))


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
    """Names of the models shipped with the package."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.npz"))


def resolve_model(spec: str | Path) -> Path:
    """The model path (without suffix) that ``spec`` names.

    ``spec`` is a bundled model's name (``vowelseg-en``), or the path of a
    model with or without its ``.json``/``.npz`` suffix. A path that does not
    exist but ends in a bundled model's name (``models/vowelseg-en-synthetic``
    typed outside the repository) is that bundled model.

    Raises
    ------
    ModelError
        If ``spec`` names no model; the message lists the bundled ones.
    """
    path = Path(spec)
    if path.suffix in (".json", ".npz"):
        path = path.with_suffix("")
    for candidate in (path, MODELS_DIR / path.name):
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
        pair (``"AE>T"``), learned from labelled speech (:mod:`vowelseg.training.refine`);
        empty for none.
    vtln_warps : tuple of float
        Mel-filter warps to choose from per recording (:mod:`vowelseg.features.vtln`), as
        the recipe stored them; empty: no vocal-tract-length normalisation.
    min_durations_s : dict
        Shortest duration, seconds, the alignment gives each phone (``"AE"``),
        learned from labelled speech (:func:`vowelseg.training.recipe.learn_min_durations`);
        a phone not in it, or shorter than ``n_states`` frames, takes one frame
        per state. Empty: the plain topology.
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

    @property
    def n_states(self) -> int:
        """HMM states per phone."""
        return int(self.means.shape[1])

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
    )


def component_log_likelihoods(model: AcousticModel, feats: np.ndarray) -> np.ndarray:
    """Weighted log-likelihood of every frame under every mixture component.

    The diagonal Gaussians are scored for all frames at once as two matrix
    products.

    Returns
    -------
    np.ndarray
        ``(n_frames, n_phones * n_states, n_mix)`` float64, log of
        weight times density.
    """
    n_phones, n_states, n_mix, dim = model.means.shape
    mu = model.means.reshape(-1, dim)
    inv_var = 1.0 / model.variances.reshape(-1, dim)
    const = (
        np.log(np.maximum(model.weights.reshape(-1), 1e-30))
        - 0.5 * (dim * LOG_2PI + np.log(model.variances.reshape(-1, dim)).sum(1))
        - 0.5 * (mu * mu * inv_var).sum(1)
    )
    x = feats.astype(np.float64)
    comp = const + x @ (mu * inv_var).T - 0.5 * (x * x) @ inv_var.T
    return comp.reshape(len(x), n_phones * n_states, n_mix)


def logsumexp_last(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=-1))`` computed stably."""
    peak = a.max(axis=-1)
    return peak + np.log(np.exp(a - peak[..., None]).sum(axis=-1))


def one_blas_thread() -> None:
    """Limit this process's BLAS libraries (NumPy's and SciPy's, loaded here
    first: a limit covers only libraries already loaded) to one thread each.
    For processes whose requests or jobs already run side by side (server
    workers, batch and benchmark pools): BLAS threads on top of them fight over
    the cores (two processes on 2 cores: 5-6x slower per utterance)."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def state_log_likelihoods(model: AcousticModel, feats: np.ndarray,
                          block_frames: int = 4096) -> np.ndarray:
    """Log-likelihood of every frame under every phone state.

    The diagonal-Gaussian mixtures are scored as one float32 matrix product
    per block of frames (features and their squares against the stacked
    means/precisions), then summed over the mixture components.

    Parameters
    ----------
    model : AcousticModel
    feats : np.ndarray
        ``(n_frames, dim)`` features from :func:`vowelseg.features.mfcc.mfcc_features`.
    block_frames : int
        Frames scored at a time (bounds the temporary memory).

    Returns
    -------
    np.ndarray
        ``(n_frames, n_phones * n_states)`` float32; column
        ``p * n_states + s`` is state ``s`` of phone ``p``.
    """
    n_phones, n_states, n_mix, dim = model.means.shape
    n_cols = n_phones * n_states
    # components ordered (mixture, state): each mixture's block is contiguous
    mu = model.means.transpose(2, 0, 1, 3).reshape(n_mix * n_cols, dim)
    var = model.variances.transpose(2, 0, 1, 3).reshape(n_mix * n_cols, dim)
    weight = model.weights.transpose(2, 0, 1).reshape(-1)
    inv_var = 1.0 / var
    const = (np.log(np.maximum(weight, 1e-30)) - 0.5 * (dim * LOG_2PI + np.log(var).sum(1))
             - 0.5 * (mu * mu * inv_var).sum(1)).astype(np.float32)
    table = np.concatenate([(mu * inv_var).T, -0.5 * inv_var.T]).astype(np.float32)
    out = np.empty((len(feats), n_cols), dtype=np.float32)
    for first in range(0, len(feats), block_frames):
        x = np.asarray(feats[first:first + block_frames], dtype=np.float32)
        comp = (np.concatenate([x, x * x], axis=1) @ table + const).reshape(len(x), n_mix, n_cols)
        peak = comp.max(axis=1)
        out[first:first + len(x)] = peak + np.log(np.exp(comp - peak[:, None, :]).sum(axis=1))
    return out
