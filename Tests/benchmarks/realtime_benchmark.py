#!/usr/bin/env python3
"""Realtime under load: 1,000 Socket.IO sockets on loopback, fan-out to a facility, and REST message sends.

Starts the real server (release build) on a loopback port with a fresh data directory, then
  1. registers --identities patients of the facility and opens --sockets WebSocket
     connections to /socket.io/ (Engine.IO v4, Socket.IO v5 over WebSocket, spoken directly
     over plain sockets read by one epoll loop per client process), shared among those
     patients (each identity is decided for by the access policy on every delivery), and
     prints the server's memory per idle socket (resident memory after, minus before,
     over the count);
  2. publishes --announcements facility-wide announcements one after another and times
     each `announcement:new` from just before the POST to its arrival on every socket
     (the sockets split over --processes client processes): delivery latency p50/p99
     over all deliveries (target p99 <= 50 ms), the first arrival, and the spread;
  3. runs wrk at 64 connections posting messages into one care conversation for
     --seconds, then checks the patient's unread count equals the messages stored
     (the counts are kept exact), and prints messages/s with p50/p99.
Asserts nothing; prints numbers. The client's own delays are part of the latency figure.

Usage: python3 Tests/benchmarks/realtime_benchmark.py [--binary PATH] [--sockets N] [--identities N] [--processes N]
                                                     [--announcements N] [--seconds N]
Needs: a release build (swift build -c release), wrk, requests (pip).
"""
import base64
import json
import os
import select
import socket
import tempfile
import time

import requests

from benchlib import BenchServer, arguments, rss_mb, wrk

PATIENT_PASSWORD = "lantern by the window 42"


class Socket:
    """One Socket.IO client over a plain TCP socket speaking WebSocket itself (RFC 6455: the upgrade, unmasked
    server frames, masked client frames). A frame costs the client one recv and a parse, and its arrival is timed
    the moment its bytes are read, so the client's own work adds little to the latency figure."""

    def __init__(self, host, port, token):
        self.sock = socket.create_connection((host, port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        opened = self.next_text()
        assert opened.startswith("0"), opened
        self.send("40" + json.dumps({"token": token}))
        while True:
            packet = self.next_text()
            if packet.startswith("40"):
                break
            if packet.startswith("44"):
                raise RuntimeError(packet)
        self.sock.setblocking(False)

    def send(self, text):
        payload, mask = text.encode(), os.urandom(4)
        length = len(payload)
        header = bytes([0x81, 0x80 | length]) if length < 126 else bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def frames(self):
        """Complete text frames in the buffer (the server sends each packet as one unmasked frame)."""
        texts = []
        while len(self.buffer) >= 2:
            length, offset = self.buffer[1] & 0x7F, 2
            if length == 126:
                length, offset = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                length, offset = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < offset + length:
                break
            opcode, data = self.buffer[0] & 0x0F, self.buffer[offset:offset + length]
            self.buffer = self.buffer[offset + length:]
            if opcode == 0x1:
                texts.append(data.decode())
        return texts

    def next_text(self):
        while True:
            texts = self.frames()
            if texts:
                assert len(texts) == 1, texts
                return texts[0]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed during the handshake")
            self.buffer += chunk

    def readable(self, arrivals, now):
        """Reads what arrived, answers pings, records `announcement:new` arrivals; answers how many (None once closed)."""
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return 0
        if not chunk:
            return None
        self.buffer += chunk
        recorded = 0
        for packet in self.frames():
            if packet == "2":
                self.send("3")
            elif packet.startswith('42["announcement:new"'):
                arrivals.setdefault(json.loads(packet[2:])[1]["announcement_id"], []).append(now)
                recorded += 1
        return recorded


def client_process(base, tokens, count, ready, stop, results, counter):
    """Holds `count` sockets in one epoll loop until told to stop; answers their arrival times."""
    host, port = base.rsplit("/", 1)[1].rsplit(":", 1)
    sockets = {}
    for i in range(count):
        s = Socket(host, int(port), tokens[i % len(tokens)])
        sockets[s.sock.fileno()] = s
    poller = select.epoll()
    for fd in sockets:
        poller.register(fd, select.EPOLLIN)
    arrivals = {}
    ready.set()
    while not stop.is_set():
        for fd, _ in poller.poll(0.05):
            now = time.perf_counter()  # CLOCK_MONOTONIC: comparable across the client processes
            gained = sockets[fd].readable(arrivals, now)
            if gained is None:
                poller.unregister(fd)
            elif gained:
                with counter.get_lock():
                    counter.value += gained
    results.put(arrivals)
    for s in sockets.values():
        s.sock.close()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def patients(server, count):
    """Access tokens of `count` newly registered patients."""
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    tokens = []
    for i in range(count):
        created = requests.post(server.base + "/api/v1/patients", headers=admin, timeout=30,
                                json={"first_name": "Fan", "last_name": f"Out{i}", "date_of_birth": "1990-01-01"}).json()
        email = f"fan.out.{i}@example.org"
        requests.post(server.base + "/api/v1/auth/patient/register", timeout=30,
                      json={"registration_key": created["registration_key"], "password": PATIENT_PASSWORD, "email": email})
        login = requests.post(server.base + "/api/v1/auth/patient/login", timeout=30, json={"identifier": email, "password": PATIENT_PASSWORD})
        tokens.append(login.json()["access_token"])
    return tokens


def fan_out(server, tokens, count, announcements, processes):
    import multiprocessing
    counter = multiprocessing.Value("l", 0)
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    before = rss_mb(server.process.pid)
    workers, readies = [], []
    for index in range(processes):
        ready = multiprocessing.Event()
        share = count // processes + (1 if index < count % processes else 0)
        mine = tokens[index::processes] or tokens
        worker = multiprocessing.Process(target=client_process, args=(server.base, mine, share, ready, stop, results, counter))
        worker.start()
        workers.append(worker)
        readies.append(ready)
    for ready in readies:
        assert ready.wait(300), "the client processes did not connect in time"
    time.sleep(3)
    after = rss_mb(server.process.pid)
    print(f"sockets connected: {count} ({len(tokens)} patients, {processes} client processes); server RSS {before:.1f} MB before, "
          f"{after:.1f} MB after: {(after - before) * 1024 / count:.1f} KiB per idle socket (target <= 50)")
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    sent, posts = {}, []
    for i in range(announcements):
        started = time.perf_counter()
        response = requests.post(server.base + "/api/v1/announcements", headers=headers, timeout=30,
                                 json={"title": f"Fire drill {i}", "body": "Meet at the front lawn.", "audience": "all", "priority": "normal"})
        assert response.status_code == 201, response.text
        posts.append(time.perf_counter() - started)
        sent[response.json()["announcement"]["id"]] = started
        deadline = time.perf_counter() + 10
        while counter.value < count * (i + 1) and time.perf_counter() < deadline:
            time.sleep(0.002)
    stop.set()
    arrivals = {}
    for _ in workers:
        for announcement, times in results.get(timeout=60).items():
            arrivals.setdefault(announcement, []).extend(times)
    for worker in workers:
        worker.join(30)
    latencies, spreads, firsts = [], [], []
    for announcement, started in sent.items():
        arrived = arrivals.get(announcement, [])
        latencies += [at - started for at in arrived]
        if arrived:
            spreads.append(max(arrived) - min(arrived))
            firsts.append(min(arrived) - started)
    print(f"announcement:new fan-out: {announcements} announcements x {count} sockets, {len(latencies)} deliveries "
          f"({announcements * count - len(latencies)} missing); latency from before the POST to arrival: p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies) * 1000:.1f} ms (target p99 <= 50 ms)")
    print(f"  first socket to receive each announcement: p50 {percentile(firsts, 50):.1f} ms, p99 {percentile(firsts, 99):.1f} ms; "
          f"the POST itself (commit, answer): p50 {percentile(posts, 50):.1f} ms; first to last arrival of one announcement: "
          f"p50 {percentile(spreads, 50):.1f} ms")
    print(f"server RSS with {count} sockets after the fan-out: {rss_mb(server.process.pid):.1f} MB")


def message_sends(server, seconds):
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    me = requests.get(server.base + "/api/v1/auth/me", headers=admin, timeout=10).json()
    admin_id = me.get("user", me)["id"]
    created = requests.post(server.base + "/api/v1/patients", headers=admin, timeout=10,
                            json={"first_name": "Bench", "last_name": "Patient", "date_of_birth": "1990-01-01"}).json()
    patient_id = created["patient"]["id"]
    assigned = requests.post(server.base + f"/api/v1/patients/{patient_id}/care-team", headers=admin, timeout=10,
                             json={"staff_id": admin_id, "role": "case_manager"})
    assert assigned.status_code == 201, assigned.text
    requests.post(server.base + "/api/v1/auth/patient/register", timeout=10,
                  json={"registration_key": created["registration_key"], "password": PATIENT_PASSWORD, "email": "bench.patient@example.org"})
    patient = requests.post(server.base + "/api/v1/auth/patient/login", timeout=10,
                            json={"identifier": "bench.patient@example.org", "password": PATIENT_PASSWORD}).json()["access_token"]
    conversation = requests.post(server.base + "/api/v1/conversations", headers=admin, timeout=10,
                                 json={"patient_id": patient_id}).json()["conversation"]["id"]
    script = os.path.join(tempfile.mkdtemp(), "send.lua")
    with open(script, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {server.admin_token}"\n'
                'counter = 0\nrequest = function()\n  counter = counter + 1\n'
                '  return wrk.format(nil, nil, nil, \'{"body": "How are you doing today? \' .. counter .. \'"}\')\nend\n')
    result = wrk([server.base + f"/api/v1/conversations/{conversation}/messages"], seconds, script=script)
    time.sleep(2)  # requests still in flight when wrk stopped finish first
    listed = requests.get(server.base + "/api/v1/conversations", headers={"Authorization": f"Bearer {patient}"}, timeout=30).json()
    unread = next(c["unread_count"] for c in listed["data"] if c["id"] == conversation)
    import subprocess
    stored = int(subprocess.run(["sqlite3", server.db, f"SELECT count(*) FROM messages WHERE conversation_id = '{conversation}'"],
                                capture_output=True, text=True).stdout.strip())
    print(f"POST /conversations/{{id}}/messages (64 connections, {seconds} s): {result['rps']:.0f} messages/s, "
          f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, non-2xx {result['non2xx']}, errors {result['errors']}")
    print(f"messages stored {stored}; the patient's unread count {unread}: {'exact' if stored == unread else 'WRONG'}")


def main():
    args = arguments(__doc__, 10, sockets=1000, announcements=50, identities=100, processes=2)
    # Each socket is a file descriptor on both sides; the server inherits the raised limit.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.sockets + 1024)), hard))
    with BenchServer(args.binary, "realtime-bench-") as server:
        print(f"server RSS at start: {rss_mb(server.process.pid):.1f} MB")
        tokens = patients(server, args.identities)
        fan_out(server, tokens, args.sockets, args.announcements, args.processes)
        message_sends(server, args.seconds)


if __name__ == "__main__":
    main()
