"""The package's shape: its import name, what serving loads, one HMM core."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import ROOT, needs_train

SENTENCE = "She had your dark suit in greasy wash water all year"

#: Modules that neither aligning nor serving a JSON, TextGrid or WAV reply may load.
TOOLING = ("vowelseg_lab", "hmmlearn", "sklearn", "lightgbm", "dask", "distributed",
           "matplotlib")


def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_import_name_is_vowelseg_even_beside_a_users_app_py(tmp_path):
    (tmp_path / "app.py").write_text("raise SystemExit('the user app was imported')\n")
    done = run_python("""
        import importlib.util
        from vowelseg import Options, segment
        import vowelseg
        print(vowelseg.__file__)
        print(importlib.util.find_spec("app") is None or importlib.util.find_spec("app").origin)
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    origin, app = done.stdout.split()
    assert origin.endswith("vowelseg/__init__.py")
    assert app == str(tmp_path / "app.py")  # the user's own
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_python("import importlib.util; print(importlib.util.find_spec('app'))", elsewhere)
    assert done.stdout.strip() == "None"  # vowelseg installs no top-level `app`


def test_aligning_and_serving_load_no_training_benchmark_or_plotting_code(timit, tmp_path):
    wav = timit / "dr1-fvmh0" / "sa1.wav"
    done = run_python(f"""
        import json, sys
        from fastapi.testclient import TestClient
        from vowelseg import segment
        from vowelseg.service.api import create_app

        def loaded():
            return sorted(m for m in sys.modules if m.startswith({TOOLING!r}))

        seg = segment({str(wav)!r}, {SENTENCE!r})
        assert len(seg.vowels) > 10
        after_api = loaded()
        with TestClient(create_app()) as client:
            for output in ("json", "textgrid", "wav"):
                reply = client.post("/segment", data={{"transcript": {SENTENCE!r},
                                                      "output": output}},
                                    files={{"audio": ("a.wav", open({str(wav)!r}, "rb"))}})
                assert reply.status_code == 200, reply.text
            after_serving = loaded()
            reply = client.post("/segment", data={{"transcript": {SENTENCE!r},
                                                  "output": "png"}},
                                files={{"audio": ("a.wav", open({str(wav)!r}, "rb"))}})
            assert reply.status_code == 200
        print(json.dumps([after_api, after_serving, loaded()]))
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    after_api, after_serving, after_png = json.loads(done.stdout.splitlines()[-1])
    assert after_api == [] and after_serving == []
    assert any(m.startswith("matplotlib") for m in after_png)  # the check can see a load


def test_the_product_never_imports_the_lab():
    """``vowelseg_lab`` (the recipes and benchmarks) imports ``vowelseg``; nothing in
    ``vowelseg`` imports ``vowelseg_lab``, not even inside a function."""
    import ast

    found = []
    for path in sorted((ROOT / "app" / "vowelseg").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                      if name.split(".")[0] == "vowelseg_lab"]
    assert found == []


#: The product's layers, top first (docs/architecture.md): a module imports only
#: from its own layer or those below it.
LAYERS = (
    ("cli", "service", "batch"),
    ("option_flags",),
    ("pipeline",),
    ("options", "render", "reply", "textgrids"),
    ("boundaries", "quality", "result"),
    ("align",),
    ("features", "hmm", "text", "audio"),
    ("measures", "phones", "errors", "warning_codes", "cores"),
)


def _product_imports() -> dict[str, set[str]]:
    """Each product module's imports of other product modules (dotted names under
    ``vowelseg``, function-level imports included)."""
    import ast

    root = ROOT / "app" / "vowelseg"
    modules = {".".join(p.relative_to(root).with_suffix("").parts): p
               for p in root.rglob("*.py")}
    modules = {k.removesuffix(".__init__") if k != "__init__" else "": v
               for k, v in modules.items()}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vowelseg."):
                base = node.module.removeprefix("vowelseg.")
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                          for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "vowelseg":
                found |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.Import):
                found |= {a.name.removeprefix("vowelseg.") for a in node.names
                          if a.name.startswith("vowelseg.")}
        out[name] = {m for m in found if m in modules and m != name}
    return out


def test_product_imports_run_down_the_layers_without_a_circle():
    """No product module imports from a layer above its own, and no modules import
    each other in a circle (the package's face, ``vowelseg/__init__``, stands apart)."""
    imports = _product_imports()
    layer = {}
    for name in imports:
        top = name.split(".")[0]
        layer[name] = next((i for i, group in enumerate(LAYERS) if top in group), None)
    assert [n for n in imports if n and layer[n] is None] == []  # every module placed
    upward = [f"{a} -> {b}" for a, bs in imports.items() if a for b in bs
              if b and layer[b] < layer[a]]
    assert upward == []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:  # depth first: 1 open, 2 done
        state[name] = 1
        for b in imports[name]:
            assert state.get(b) != 1, f"import circle: {' -> '.join(trail + [name, b])}"
            if b not in state:
                visit(b, trail + [name])
        state[name] = 2

    for name in imports:
        if name and name not in state:
            visit(name, [])


def test_vowelseg_runs_the_product_and_vowelseg_lab_the_models_and_benchmarks():
    import argparse

    from vowelseg import __version__
    from vowelseg.cli import build_parser
    from vowelseg_lab.cli import build_parser as build_lab_parser

    def commands(parser: argparse.ArgumentParser) -> list[str]:
        return list(next(a for a in parser._actions
                         if isinstance(a, argparse._SubParsersAction)).choices)

    assert commands(build_parser()) == ["segment", "measure", "batch", "serve"]
    assert {"train", "synth-corpus", "adapt", "fit-boundaries", "bench", "bench-long",
            "bench-robust", "bench-formants", "bench-input", "bench-load"} == set(
        commands(build_lab_parser()))
    done = subprocess.run([sys.executable, "-m", "vowelseg_lab", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"vowelseg-lab {__version__}"


def test_model_by_name_from_any_folder_and_a_bad_one_in_one_line(synthetic, tmp_path):
    from tests.conftest import wav_bytes

    text, speech = synthetic[0]
    (tmp_path / "in.wav").write_bytes(wav_bytes(speech.samples, speech.sample_rate))
    for model in ("vowelseg-en-synthetic", "models/vowelseg-en-synthetic",
                  str(ROOT / "models" / "vowelseg-en-synthetic.json")):
        done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", "in.wav", text,
                               "--model", model], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)["words"]) == len(text.split())
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", "in.wav", text,
                           "--model", "vowelseg-xx"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "vowelseg-en-synthetic" in done.stderr
    assert "Traceback" not in done.stderr


def test_version():
    from vowelseg import __version__
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"vowelseg {__version__}"


def test_package_metadata_has_one_version_a_licence_and_classifiers(tmp_path):
    done = run_python("""
        import importlib.metadata, json, vowelseg
        meta = importlib.metadata.metadata("vowelseg")
        print(json.dumps([meta["Version"], vowelseg.__version__, meta["License"],
                          meta.get_all("Classifier") or []]))
    """, tmp_path)  # not the checkout: a build's egg-info there would be read instead
    version, code_version, licence, classifiers = json.loads(done.stdout)
    assert version == code_version
    assert licence.startswith("MIT")
    assert "License :: OSI Approved :: MIT License" in classifiers


def test_viterbi_wrapper_refuses_what_the_kernel_would_misread():
    from vowelseg.hmm.viterbi import chain_graph, viterbi

    chain = chain_graph(np.array([0, 1, 2]), np.log([0.5] * 3), np.log([0.5] * 3))
    with pytest.raises(ValueError, match="expected"):
        viterbi(chain, np.zeros((10, 2)))  # column 2 missing
    broken = chain_graph(np.array([0, 1]), np.zeros(2), np.zeros(2))
    from dataclasses import replace

    with pytest.raises(ValueError, match="forward"):
        viterbi(replace(broken, pred_node=np.array([1])), np.zeros((4, 2)))


@needs_train
def test_chain_viterbi_decodes_as_hmmlearn_does():
    """The recipe's state re-alignment runs the aligner's kernel where it ran
    hmmlearn's predict; on random GMM-HMMs and data the paths agree exactly."""
    from hmmlearn.hmm import GMMHMM
    from vowelseg.hmm.gmm import Mixtures, state_log_likelihoods
    from vowelseg.hmm.viterbi import NEG_INF, chain_graph, viterbi

    rng = np.random.default_rng(0)
    for trial in range(5):
        n, m, d = 3, 2, 4
        hmm = GMMHMM(n_components=n, n_mix=m, covariance_type="diag")
        hmm.startprob_ = np.eye(n)[0]
        stay = rng.uniform(0.3, 0.9, n)
        trans = np.diag(stay) + np.diag(1 - stay[:-1], 1)
        trans[-1, -1] = 1.0
        hmm.transmat_ = trans
        hmm.weights_ = rng.dirichlet(np.ones(m), n)
        hmm.means_ = rng.normal(0, 2, (n, m, d))
        hmm.covars_ = rng.uniform(0.5, 2, (n, m, d))
        x = np.concatenate([rng.normal(hmm.means_[s, 0], 1, (int(rng.integers(3, 9)), d))
                            for s in range(n)])
        with np.errstate(divide="ignore"):
            log_trans = np.log(trans)
        chain = chain_graph(np.arange(n), np.diag(log_trans),
                            np.append(np.diag(log_trans, 1), NEG_INF), end_anywhere=True)
        scores = state_log_likelihoods(Mixtures(hmm.weights_, hmm.means_, hmm.covars_), x,
                                       dtype=np.float64)
        ours, _ = viterbi(chain, scores)
        assert ours.tolist() == hmm.predict(x).tolist(), trial


def test_a_mistyped_model_path_is_not_taken_for_a_bundled_model(tmp_path, monkeypatch):
    from vowelseg.errors import ModelError
    from vowelseg.hmm.model import MODELS_DIR, resolve_model

    monkeypatch.chdir(tmp_path)
    assert resolve_model("vowelseg-en") == MODELS_DIR / "vowelseg-en"
    assert resolve_model("models/vowelseg-en.json") == MODELS_DIR / "vowelseg-en"
    with pytest.raises(ModelError, match="no acoustic model"):
        resolve_model(tmp_path / "mine" / "vowelseg-en")


def test_a_setting_out_of_range_is_one_line(tmp_path):
    import os

    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "serve", "--port", "1"],
                          env={**os.environ, "VOWELSEG_MAX_QUEUE": "-1"}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "max_queue" in done.stderr
