#!/usr/bin/env python3
"""Document streaming: the server's memory while a 20 MiB document goes in and out.

Starts the real server (release build by default) on a loopback port with a
fresh data directory, creates a patient, warms up with a small upload and
download, then uploads a 20 MiB PDF-looking file as multipart/form-data sent
in 64 KiB pieces (chunked transfer encoding, so the client does not hold it
either), downloads it streamed, checks it is byte-identical, and prints the
server's resident memory (VmRSS) before, its peak while uploading and while
downloading (sampled every 10 ms), the growth, and the throughput. The
acceptance bound is a growth under 10 MiB.

Usage: python3 Tests/benchmarks/document_benchmark.py [--binary PATH] [--mib N]
Needs: a build of recovery-server, requests.
"""
import argparse
import hashlib
import os
import sys
import threading
import time

import requests

from benchlib import BenchServer, rss_mb

CHUNK = 65_536


def pattern(size, seed=7):
    """Deterministic bytes starting with a PDF header, produced piece by piece."""
    head = b"%PDF-1.7\n"
    yield head
    left = size - len(head)
    block = hashlib.sha256(str(seed).encode()).digest() * (CHUNK // 32)
    counter = 0
    while left > 0:
        piece = bytes((b + counter) & 0xFF for b in block[:64]) + block[64:]
        piece = piece[:min(CHUNK, left)]
        counter += 1
        left -= len(piece)
        yield piece


def multipart(size, boundary, title):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nother\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
           f"Content-Type: application/pdf\r\n\r\n").encode()
    yield from pattern(size)
    yield f"\r\n--{boundary}--\r\n".encode()


class Sampler:
    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def upload(base, auth, patient, size, title):
    boundary = "bench-boundary-7f3a"
    headers = {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = requests.post(f"{base}/api/v1/patients/{patient}/documents", headers=headers,
                      data=multipart(size, boundary, title), timeout=300)
    r.raise_for_status()
    return r.json()["document"]


def download(base, auth, document):
    digest, size = hashlib.sha256(), 0
    with requests.get(f"{base}/api/v1/documents/{document}/content", headers=auth, stream=True, timeout=300) as r:
        r.raise_for_status()
        for piece in r.iter_content(CHUNK):
            digest.update(piece)
            size += len(piece)
    return digest.hexdigest(), size


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(root, ".build/release/recovery-server"))
    parser.add_argument("--mib", type=int, default=20)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"no binary at {args.binary}: run swift build -c release first (or pass --binary)")
    size = args.mib * 1_048_576
    expected = hashlib.sha256(b"".join(pattern(size))).hexdigest()

    with BenchServer(args.binary, "recovery-document-bench-") as bench:
        auth = {"Authorization": f"Bearer {bench.admin_token}"}
        created = requests.post(bench.base + "/api/v1/patients", headers=auth, timeout=30,
                                json={"first_name": "Bench", "last_name": "Patient", "date_of_birth": "1990-01-01"})
        created.raise_for_status()
        patient = created.json()["patient"]["id"]
        pid = bench.process.pid

        warm = upload(bench.base, auth, patient, 2 * CHUNK, "warm-up")
        download(bench.base, auth, warm["id"])
        time.sleep(0.5)
        before = rss_mb(pid)

        started = time.perf_counter()
        with Sampler(pid) as up:
            document = upload(bench.base, auth, patient, size, "benchmark document")
        upload_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with Sampler(pid) as down:
            digest, got = download(bench.base, auth, document["id"])
        download_seconds = time.perf_counter() - started
        after = rss_mb(pid)

    identical = digest == expected and got == size and document["sha256"] == expected
    growth = max(up.peak, down.peak) - before
    print(f"document streaming, {args.mib} MiB ({size:,} bytes)")
    print(f"  upload:   {upload_seconds:6.2f} s  {args.mib / upload_seconds:7.1f} MiB/s  peak RSS {up.peak:7.1f} MiB")
    print(f"  download: {download_seconds:6.2f} s  {args.mib / download_seconds:7.1f} MiB/s  peak RSS {down.peak:7.1f} MiB")
    print(f"  RSS before {before:.1f} MiB, after {after:.1f} MiB, growth while streaming {growth:.1f} MiB (bound: < 10 MiB)")
    print(f"  byte-identical: {identical}")
    sys.exit(0 if identical and growth < 10 else 1)


if __name__ == "__main__":
    main()
