"""The example starts as documented: the script with --demo, or uvicorn's factory mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient  # conftest imported it (see there)

from .conftest import WEB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_script_serves_the_seeded_demo(tmp_path: Path) -> None:
    """The script seeds an empty SQLite file, serves it, and stops cleanly on SIGTERM."""
    port = free_port()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    command = [sys.executable, str(WEB / "app.py"), "--url", url, "--demo", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            while True:
                try:
                    response = client.get("/login")
                    break
                except httpx2.TransportError:
                    assert process.poll() is None, process.communicate()[1]
                    assert time.monotonic() < deadline, "the app did not start within 20 s"
                    time.sleep(0.1)
            assert response.status_code == 200
            assert "Log in as Alice Archer" in response.text
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert f"seeded 5 tickets into {url}" in out
    assert "Traceback" not in err


def test_uvicorn_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``uvicorn --factory app:app_from_env`` opens TICKETKIT_WEB_URL and seeds it."""
    from app import app_from_env

    monkeypatch.setenv("TICKETKIT_WEB_URL", f"sqlite:///{tmp_path / 'factory.db'}")
    app = app_from_env()
    try:
        with TestClient(app) as client:
            token = client.get("/api/me").json()["csrf"]
            client.post("/login", data={"csrf": token, "person": "lee"})
            keys = [t["key"] for t in client.get("/api/tickets").json()["items"]]
        assert keys == ["HD-5", "HD-4", "HD-3", "HD-2", "HD-1"]
    finally:
        app.state.tracker.close()
