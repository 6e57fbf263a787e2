"""Fixtures for the end-to-end tests: the real `recovery-server` binary, started
on a free loopback port with a fresh data directory, talked to over real sockets.

The binary comes from $E2E_SERVER_BIN (default: <repo>/.build/debug/recovery-server).
A missing binary is an error, never a skip: a green run must mean the server was tested.

Every wait is bounded; every process started here is stopped here (SIGTERM, then
SIGKILL only as a last resort, and only for processes this suite started).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterable

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".build" / "debug" / "recovery-server"
SERVER_BIN = Path(os.environ.get("E2E_SERVER_BIN") or DEFAULT_BIN)

HOST = "127.0.0.1"
ADMIN_EMAIL = "e2e.admin@example.org"
ADMIN_PASSWORD = "tidal harbor lantern 42"

STARTUP_TIMEOUT = 20.0    # seconds until /api/v1/health must answer
SHUTDOWN_TIMEOUT = 15.0   # seconds from SIGTERM to exit
CLI_TIMEOUT = 60.0        # seconds for init / migrate / seed / --help


# --------------------------------------------------------------------------- binary


def pytest_configure(config: pytest.Config) -> None:
    if not SERVER_BIN.is_file() or not os.access(SERVER_BIN, os.X_OK):
        raise pytest.UsageError(
            f"recovery-server binary not found or not executable: {SERVER_BIN}\n"
            "Build it (swift build) or set E2E_SERVER_BIN to its path. "
            "The end-to-end tests never skip for a missing binary.")


@pytest.fixture(scope="session")
def server_bin() -> Path:
    return SERVER_BIN


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without RECOVERY_* settings (so a developer's
    shell cannot change what is tested), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
    env.update(extra or {})
    return env


def run_cli(*args: str | os.PathLike, env: dict[str, str] | None = None,
            timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs `recovery-server <args>` to completion (bounded), capturing output."""
    cmd = [str(SERVER_BIN), *map(str, args)]
    try:
        return subprocess.run(cmd, env=clean_env(env), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:  # run() has already killed the child
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout}s\n"
                    f"stdout: {exc.stdout!r}\nstderr: {exc.stderr!r}")


def init_data_dir(data_dir: Path, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD,
                  *extra: str) -> subprocess.CompletedProcess:
    result = run_cli("init", "--data-dir", data_dir, "--admin-email", email,
                     "--admin-password", password, *extra)
    assert result.returncode == 0, f"init failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite3_cli(db: Path, sql: str) -> str:
    """Runs SQL with the sqlite3 command-line shell (never while a server uses `db`)."""
    result = subprocess.run(["sqlite3", "-batch", "-bail", str(db), sql], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"sqlite3 failed on {sql!r}: {result.stderr}"
    return result.stdout.strip()


def log_records(text: str) -> list[dict]:
    """The JSON log lines of a server log (other lines are ignored)."""
    records = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


CRASH_SIGNATURES = ("Fatal error", "Stack dump", "Current stack trace", "Backtrace",
                    "Segmentation fault", "Illegal instruction", "SIGSEGV", "SIGILL", "SIGABRT")


def assert_no_crash_signature(*texts: str) -> None:
    for text in texts:
        for signature in CRASH_SIGNATURES:
            assert signature not in text, f"crash signature {signature!r} in output:\n{text}"


# --------------------------------------------------------------------------- server process

_started: list["ServerProcess"] = []


class ServerProcess:
    """`recovery-server serve` on a free 127.0.0.1 port.

    Plain HTTP on loopback by default (server.tls.cert_file set to ""); with
    tls=True it serves HTTPS with the certificate `init` made in the data
    directory, which requests then trusts (verify=). `host` is the listen
    address (127.0.0.1 is still where the tests connect).

    stderr (the JSON log) goes to `log_path`, stdout to `stdout_path`.
    `start()` waits (bounded) for GET /api/v1/health to answer; `stop()` sends
    SIGTERM and, by default, asserts a clean exit: code 0 and "database closed
    cleanly" in the log.
    """

    def __init__(self, data_dir: Path | None, log_dir: Path, *, args: Iterable[str] = (),
                 env: dict[str, str] | None = None, name: str = "server", tls: bool = False,
                 host: str = HOST):
        self.data_dir = data_dir
        self.args = list(args)
        self.env = dict(env or {})
        self.tls = tls
        self.host = host
        if not tls:
            self.env.setdefault("RECOVERY_SERVER_TLS_CERT_FILE", "")
        self.verify: str | bool = str(data_dir / "tls-cert.pem") if tls and data_dir is not None else True
        self.log_path = log_dir / f"{name}.stderr.log"
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    # -- lifecycle

    def start(self, timeout: float = STARTUP_TIMEOUT) -> "ServerProcess":
        for attempt in range(3):  # a freed port can be taken by someone else before we bind it
            self.port = free_port()
            self._spawn()
            if self._wait_ready(timeout):
                return self
            if self.proc.poll() is not None and "already in use" in self.log() and attempt < 2:
                continue
            break
        log = self.log()
        self._kill()
        pytest.fail(f"server did not answer GET /api/v1/health within {timeout}s "
                    f"(exit code {self.proc.returncode})\n--- log ---\n{log}\n--- stdout ---\n{self.stdout()}")

    def _spawn(self) -> None:
        cmd = [str(SERVER_BIN), "serve", "--host", self.host, "--port", str(self.port)]
        if self.data_dir is not None:
            cmd += ["--data-dir", str(self.data_dir)]
        cmd += self.args
        with open(self.log_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, env=clean_env(self.env), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        _started.append(self)

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url("/api/v1/health"), timeout=1, verify=self.verify).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None and self.proc.poll() is None, "server is not running"
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = SHUTDOWN_TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log = self.log()
            self._kill()
            pytest.fail(f"server did not exit within {timeout}s of SIGTERM (killed)\n--- log ---\n{log}")

    def stop(self, *, check: bool = True) -> int:
        """SIGTERM, bounded wait, and (check=True) assert a clean shutdown."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.wait_exit()
        if check:
            self.assert_clean_exit()
        return code

    def assert_clean_exit(self) -> None:
        log = self.log()
        assert self.proc.returncode == 0, f"server exited with {self.proc.returncode}\n--- log ---\n{log}"
        assert "database closed cleanly" in log, f"no 'database closed cleanly' in the log:\n{log}"
        assert_no_crash_signature(log, self.stdout())

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- talking to it

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self.verify)
        return requests.get(self.url(path), **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self.verify)
        return requests.request(method, self.url(path), **kwargs)

    def assert_still_serving(self) -> None:
        assert self.running, f"server process exited ({self.proc.returncode})\n--- log ---\n{self.log()}"
        response = self.get("/api/v1/health")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""


@pytest.fixture(scope="session", autouse=True)
def _reap_servers():
    """Last resort: no server started by this suite outlives it."""
    yield
    for server in _started:
        server._kill()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory initialised by `init` with ADMIN_EMAIL / ADMIN_PASSWORD."""
    directory = tmp_path / "data"
    init_data_dir(directory)
    return directory


@pytest.fixture
def make_server(tmp_path: Path):
    """Factory: make_server(data_dir, args=..., env=..., name=..., tls=..., host=...) -> started
    ServerProcess. Servers still running at teardown are stopped and must shut down cleanly."""
    servers: list[ServerProcess] = []

    def factory(directory: Path | None, *, args: Iterable[str] = (), env: dict[str, str] | None = None,
                name: str | None = None, start: bool = True, tls: bool = False, host: str = HOST) -> ServerProcess:
        server = ServerProcess(directory, tmp_path, args=args, env=env, name=name or f"server{len(servers)}",
                               tls=tls, host=host)
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        if server.running:
            server.stop()


@pytest.fixture
def server(data_dir: Path, make_server) -> ServerProcess:
    """A running server on a freshly initialised data directory."""
    return make_server(data_dir, name="server")
