"""The production image: built from the Dockerfile on a debootstrapped Debian
bookworm base with buildah (``.ci/image``, no registry needed), started with its
own command, and answering ``POST /segment``.

Needs root and buildah/debootstrap (``.ci/image`` installs them); elsewhere the
test skips, but in CI (``CI=true``) it fails instead, so it cannot silently not run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from vowelseg_lab.bench.server import free_port, launch, stop_server

from tests.conftest import ROOT

STORAGE = ["--storage-driver", "vfs"]
#: What the service install must leave out: test, training, benchmark and cluster packages.
NOT_IN_IMAGE = {"pytest", "ruff", "schemathesis", "httpx", "hypothesis", "dask", "distributed",
                "hmmlearn", "scikit-learn", "lightgbm", "librosa", "fasttrackpy", "pocketsphinx"}


def buildah(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["buildah", *STORAGE, *args], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def image() -> str:
    why = None
    if os.geteuid() != 0:
        why = "building the image needs root (buildah with the vfs driver)"
    elif not (shutil.which("apt-get") or shutil.which("buildah")):
        why = "no buildah and no apt-get to install it"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the image test cannot run in CI: {why}")
        pytest.skip(why)
    built = subprocess.run(["bash", str(ROOT / ".ci" / "image")], capture_output=True,
                           text=True, timeout=1800, stdin=subprocess.DEVNULL)
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def container(image):
    name = f"vowelseg-test-{uuid.uuid4().hex[:8]}"
    buildah("from", "--name", name, image)
    yield name
    buildah("rm", name)


@pytest.fixture(scope="module")
def config(image) -> dict:
    """The image's configuration: user, command, health check."""
    return json.loads(buildah("inspect", "--type", "image", image))["Docker"]["config"]


@pytest.mark.slow
def test_image_has_runtime_packages_only_and_a_non_root_user(config, container):
    cfg = config
    assert cfg["User"] == "vowelseg"
    assert "/health" in " ".join(cfg["Healthcheck"]["Test"])
    run = ["run", "--isolation", "chroot", container, "--"]
    assert buildah(*run, "id", "-u").strip() != "0"
    installed = {line.split("==")[0].lower()
                 for line in buildah(*run, "pip", "list", "--format=freeze").split()}
    assert "vowelseg" in installed and "numba" in installed
    assert not installed & NOT_IN_IMAGE, installed & NOT_IN_IMAGE
    # the numba kernels were compiled at build time into the image's cache
    cached = buildah(*run, "sh", "-c", 'ls "$NUMBA_CACHE_DIR"/*/*.nbi')
    assert len(cached.split()) >= 5


@pytest.mark.slow
def test_image_serves_segment(config, container, timit):
    cmd = config["Cmd"]
    assert cmd[:2] == ["vowelseg", "serve"]
    port = free_port()  # the image's own command, on a free port of this machine
    cmd = [*cmd[:cmd.index("--port") + 1], str(port), *cmd[cmd.index("--port") + 2:]]
    server = launch(["buildah", *STORAGE, "run", "--isolation", "chroot", container, "--",
                     *cmd], port, timeout_s=90)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            health = json.load(reply)
        assert health["status"] == "ok" and health["model"] == "vowelseg-en"
        wav = timit / "dr1-fvmh0" / "sa1.wav"
        done = subprocess.run(
            ["curl", "-sS", "-F", f"audio=@{wav}", "-F",
             "transcript=She had your dark suit in greasy wash water all year.",
             "-F", "measures=true", f"http://127.0.0.1:{port}/segment"],
            capture_output=True, text=True, timeout=120)
        body = json.loads(done.stdout)
        assert [w["word"] for w in body["words"]][:3] == ["she", "had", "your"]
        assert len(body["vowels"]) >= 10 and body["warnings"] == []
        assert sum(v["measures"]["f1_hz"] is not None for v in body["vowels"]) >= 10
        # the server's processes (not buildah's) run as the image's user
        pids = subprocess.run(["pgrep", "-f", f"/opt/vowelseg/bin/.*serve.*{port}"],
                              capture_output=True, text=True).stdout.split()
        uids = {int(line.split()[1]) for pid in pids
                for line in open(f"/proc/{pid}/status") if line.startswith("Uid:")}
        assert pids and 0 not in uids, (pids, uids)
    finally:
        stop_server(server)
