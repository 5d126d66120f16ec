"""The service works with the network unplugged: from import to a reply, nothing
but loopback is contacted (no NLTK download, no model hub)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, wav_bytes

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys, threading, time
    attempts = []
    LOOPBACK = ("127.", "::1", "localhost")
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(address):
        host = address[0] if isinstance(address, tuple) else str(address)
        return isinstance(address, (str, bytes)) or str(host).startswith(LOOPBACK)

    def connect(self, address):
        if not allowed(address):
            attempts.append(repr(address))
            raise OSError("network forbidden by test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            attempts.append(repr(address))
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not str(host).startswith(LOOPBACK):
            attempts.append("dns:" + str(host))
            raise socket.gaierror("network forbidden by test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = getaddrinfo

    import httpx, uvicorn
    from vowelseg.service.api import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    audio = open(sys.argv[1], "rb").read()
    reply = httpx.post(f"http://127.0.0.1:{port}/segment", timeout=120,
                       files={"audio": ("x.wav", audio, "audio/wav")},
                       data={"transcript": sys.argv[2]})
    server.should_exit = True
    thread.join(10)
    print(json.dumps({"status": reply.status_code, "vowels": len(reply.json()["vowels"]),
                      "attempts": attempts}))
    """
)


def test_service_answers_with_only_loopback_reachable(synthetic, tmp_path):
    text, speech = synthetic[1]
    wav = tmp_path / "x.wav"
    wav.write_bytes(wav_bytes(speech.samples, speech.sample_rate))
    script = tmp_path / "offline.py"
    script.write_text(SCRIPT)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "NLTK_DATA": str(tmp_path / "no-nltk-data")}
    done = subprocess.run([sys.executable, str(script), str(wav), text], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["status"] == 200 and result["vowels"] >= 8
