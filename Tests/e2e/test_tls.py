"""HTTPS on the LAN: the certificate `init` makes, the server serving it, HSTS,
and the refusal to serve plain HTTP beyond loopback."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, HOST, assert_no_crash_signature, free_port, init_data_dir,
                      port_is_listening, run_cli, sha256, SERVER_BIN, clean_env)

FINGERPRINT = re.compile(r"\b[0-9A-F]{2}(?::[0-9A-F]{2}){31}\b")
HSTS = "max-age=31536000"


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in digest)


def openssl_text(certificate: Path) -> str:
    result = subprocess.run(["openssl", "x509", "-in", str(certificate), "-noout", "-text"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def serve_expecting_exit(data_dir: Path, host: str, env: dict[str, str], timeout: float = 10.0):
    """`serve` that must refuse to start: (exit code, stderr, port)."""
    port = free_port()
    cmd = [str(SERVER_BIN), "serve", "--data-dir", str(data_dir), "--host", host, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=clean_env(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.communicate(timeout=15)
        pytest.fail(f"serve --host {host} was expected to refuse to start but kept running")
    return proc.returncode, stderr, port


@pytest.fixture
def tls_data_dir(tmp_path: Path) -> tuple[Path, str]:
    """An initialised data directory with an extra certificate name, and init's output."""
    directory = tmp_path / "data"
    result = init_data_dir(directory, ADMIN_EMAIL, ADMIN_PASSWORD, "--tls-name", "records.harborlight.example",
                           "--tls-name", "10.77.0.5")
    return directory, result.stdout


def test_init_makes_a_private_p256_certificate_for_this_hosts_names(tls_data_dir):
    directory, output = tls_data_dir
    certificate, key = directory / "tls-cert.pem", directory / "tls-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    assert stat.S_IMODE(certificate.stat().st_mode) & 0o077 == 0
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")

    text = openssl_text(certificate)
    assert "id-ecPublicKey" in text and "prime256v1" in text, text
    assert "ecdsa-with-SHA256" in text
    assert "CA:FALSE" in text and "TLS Web Server Authentication" in text, text
    names = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*)\n", text).group(1)
    for expected in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                     "DNS:records.harborlight.example", "IP Address:10.77.0.5"):
        assert expected in names, f"{expected} missing from {names}"
    hostname = socket.gethostname().lower()
    if hostname != "localhost":
        assert f"DNS:{hostname}" in names, names

    # The fingerprint init printed is the DER's SHA-256, and `tls fingerprint` repeats it.
    der = ssl.PEM_cert_to_DER_cert(certificate.read_text())
    printed = FINGERPRINT.findall(output)
    assert printed == [colon_hex(hashlib.sha256(der).digest())], output
    again = run_cli("tls", "fingerprint", "--data-dir", directory)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == printed[0], again.stdout
    assert "records.harborlight.example" in again.stdout


def test_serve_speaks_https_with_hsts_and_the_pinned_certificate(tls_data_dir, make_server):
    directory, output = tls_data_dir
    pinned = FINGERPRINT.search(output).group(0)
    server = make_server(directory, tls=True, name="https")

    response = server.get("/api/v1/health")  # verified against the certificate init made
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert response.headers.get("Strict-Transport-Security") == HSTS, response.headers
    missing = server.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers.get("Strict-Transport-Security") == HSTS, missing.headers

    login = server.request("POST", "/api/v1/auth/staff/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    assert login.headers.get("Strict-Transport-Security") == HSTS

    served = ssl.get_server_certificate((HOST, server.port))
    assert colon_hex(hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).digest()) == pinned

    # A client that pins the fingerprint alone (no CA) gets the same certificate.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, server.port), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert colon_hex(hashlib.sha256(tls.getpeercert(binary_form=True)).digest()) == pinned

    # Nothing is answered in clear on the HTTPS port.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://{HOST}:{server.port}/api/v1/health", timeout=5)

    # Without the certificate, a client refuses the unknown issuer.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url("/api/v1/health"), timeout=5)
    server.assert_still_serving()


def test_plain_http_carries_no_hsts(server):
    response = server.get("/api/v1/health")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_the_lan_setup_serves_https_by_default(data_dir, make_server):
    # What README's real-appliance setup runs: init, then serve on every address.
    server = make_server(data_dir, tls=True, host="0.0.0.0", name="lan")
    assert server.get("/api/v1/health").headers.get("Strict-Transport-Security") == HSTS


def test_plain_http_beyond_loopback_is_refused(data_dir):
    code, stderr, port = serve_expecting_exit(data_dir, "0.0.0.0", {"RECOVERY_SERVER_TLS_CERT_FILE": ""})
    assert code == 78, stderr
    assert "plain HTTP" in stderr and "server.allow_plain_http" in stderr and "server.tls.cert_file" in stderr, stderr
    assert_no_crash_signature(stderr)
    assert not port_is_listening(port)


@pytest.mark.parametrize("case", ["key_readable_by_others", "key_of_another_certificate", "certificate_missing"])
def test_a_bad_certificate_or_key_stops_startup_naming_the_setting(case, data_dir, tmp_path):
    env: dict[str, str] = {}
    if case == "key_readable_by_others":
        (data_dir / "tls-key.pem").chmod(0o644)
        expected = "server.tls.key_file"
    elif case == "key_of_another_certificate":
        other = tmp_path / "other"
        init_data_dir(other)
        env["RECOVERY_SERVER_TLS_KEY_FILE"] = str(other / "tls-key.pem")
        expected = "server.tls.key_file"
    else:
        (data_dir / "tls-cert.pem").unlink()
        expected = "server.tls.cert_file"
    code, stderr, port = serve_expecting_exit(data_dir, HOST, env)
    assert code == 78, stderr
    assert expected in stderr, stderr
    assert "PRIVATE KEY" not in stderr
    assert not port_is_listening(port)


def test_init_never_replaces_the_certificate_and_adds_a_missing_one(data_dir):
    certificate, key = data_dir / "tls-cert.pem", data_dir / "tls-key.pem"
    before = (sha256(certificate), sha256(key))
    again = run_cli("init", "--data-dir", data_dir, "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD)
    assert again.returncode == 0, again.stderr
    assert "already initialised" in again.stdout
    assert (sha256(certificate), sha256(key)) == before
    assert FINGERPRINT.search(again.stdout), again.stdout

    # An appliance set up before HTTPS gets its certificate from init, and nothing else changes.
    database = sha256(data_dir / "recovery.sqlite")
    certificate.unlink()
    key.unlink()
    upgraded = run_cli("init", "--data-dir", data_dir, "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "no HTTPS certificate" in upgraded.stdout, upgraded.stdout
    assert certificate.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sha256(data_dir / "recovery.sqlite") == database

    # Half a pair is refused rather than completed.
    key.unlink()
    half = run_cli("init", "--data-dir", data_dir, "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD)
    assert half.returncode == 1, half.stdout
    assert "tls-key.pem" in half.stderr, half.stderr
    assert not key.exists()
