#!/usr/bin/env python3
"""Realtime under load: 1,000 Socket.IO sockets on loopback, fan-out to a facility, and REST message sends.

Starts the real server (release build) on a loopback port with a fresh data directory, then
  1. registers --identities patients of the facility and opens --sockets WebSocket
     connections to /socket.io/ (Engine.IO v4, Socket.IO v5, the protocol spoken directly
     by a small asyncio client so one process holds them all), shared among those
     patients (each identity is decided for by the access policy on every delivery), and
     prints the server's memory per idle socket (resident memory after, minus before,
     over the count);
  2. publishes --announcements facility-wide announcements one after another and times
     each `announcement:new` from just before the POST to its arrival on every socket:
     delivery latency p50/p99 over all deliveries (target p99 <= 50 ms);
  3. runs wrk at 64 connections posting messages into one care conversation for
     --seconds, then checks the patient's unread count equals the messages stored
     (the counts are kept exact), and prints messages/s with p50/p99.
Asserts nothing; prints numbers. The client's own delays are part of the latency figure.

Usage: python3 Tests/benchmarks/realtime_benchmark.py [--binary PATH] [--sockets N] [--announcements N] [--seconds N]
Needs: a release build (swift build -c release), wrk, requests, websockets (pip).
"""
import asyncio
import json
import os
import statistics
import tempfile
import time

import requests
import websockets

from benchlib import BenchServer, arguments, rss_mb, wrk

PATIENT_PASSWORD = "lantern by the window 42"


class Socket:
    """One Socket.IO client over a raw WebSocket: answers pings, records event arrival times."""

    def __init__(self, arrivals):
        self.arrivals = arrivals
        self.ws = None

    async def open(self, base, token):
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=30)
        opened = await self.ws.recv()
        assert opened.startswith("0"), opened
        await self.ws.send("40" + json.dumps({"token": token}))
        while True:
            packet = await self.ws.recv()
            if packet.startswith("40"):
                break
            if packet.startswith("44"):
                raise RuntimeError(packet)
        self.task = asyncio.create_task(self.listen())

    async def listen(self):
        try:
            async for packet in self.ws:
                if packet == "2":
                    await self.ws.send("3")
                elif packet.startswith("42"):
                    now = time.perf_counter()
                    name, payload = json.loads(packet[2:])[:2]
                    if name == "announcement:new":
                        self.arrivals.setdefault(payload["announcement_id"], []).append(now)
        except websockets.ConnectionClosed:
            pass

    async def close(self):
        await self.ws.close()


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


async def fan_out(server, tokens, count, announcements):
    arrivals = {}
    token = server.admin_token
    before = rss_mb(server.process.pid)
    sockets = [Socket(arrivals) for _ in range(count)]
    for start in range(0, count, 50):
        await asyncio.gather(*(s.open(server.base, tokens[(start + i) % len(tokens)]) for i, s in enumerate(sockets[start:start + 50])))
    await asyncio.sleep(3)
    after = rss_mb(server.process.pid)
    print(f"sockets connected: {count} ({len(tokens)} patients); server RSS {before:.1f} MB before, {after:.1f} MB after: "
          f"{(after - before) * 1024 / count:.1f} KiB per idle socket (target <= 50)")
    headers = {"Authorization": f"Bearer {token}"}
    latencies, sent = [], {}
    loop = asyncio.get_running_loop()
    for i in range(announcements):
        started = time.perf_counter()
        response = await loop.run_in_executor(None, lambda: requests.post(
            server.base + "/api/v1/announcements", headers=headers, timeout=30,
            json={"title": f"Fire drill {i}", "body": "Meet at the front lawn.", "audience": "all", "priority": "normal"}))
        assert response.status_code == 201, response.text
        announcement = response.json()["announcement"]["id"]
        sent[announcement] = started
        deadline = time.perf_counter() + 10
        while len(arrivals.get(announcement, [])) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
    for announcement, started in sent.items():
        latencies += [arrived - started for arrived in arrivals.get(announcement, [])]
    delivered = len(latencies)
    print(f"announcement:new fan-out: {announcements} announcements x {count} sockets, {delivered} deliveries "
          f"({announcements * count - delivered} missing); latency p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies) * 1000:.1f} ms (target p99 <= 50 ms)")
    print(f"server RSS with {count} sockets after the fan-out: {rss_mb(server.process.pid):.1f} MB")
    await asyncio.gather(*(s.close() for s in sockets))


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
    listed = requests.get(server.base + "/api/v1/conversations", headers={"Authorization": f"Bearer {patient}"}, timeout=30).json()
    unread = next(c["unread_count"] for c in listed["data"] if c["id"] == conversation)
    import subprocess
    stored = int(subprocess.run(["sqlite3", server.db, f"SELECT count(*) FROM messages WHERE conversation_id = '{conversation}'"],
                                capture_output=True, text=True).stdout.strip())
    print(f"POST /conversations/{{id}}/messages (64 connections, {seconds} s): {result['rps']:.0f} messages/s, "
          f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, non-2xx {result['non2xx']}, errors {result['errors']}")
    print(f"messages stored {stored}; the patient's unread count {unread}: {'exact' if stored == unread else 'WRONG'}")


def main():
    args = arguments(__doc__, 10, sockets=1000, announcements=50, identities=100)
    # Each socket is a file descriptor on both sides; the server inherits the raised limit.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.sockets + 1024)), hard))
    with BenchServer(args.binary, "realtime-bench-") as server:
        print(f"server RSS at start: {rss_mb(server.process.pid):.1f} MB")
        tokens = patients(server, args.identities)
        asyncio.run(fan_out(server, tokens, args.sockets, args.announcements))
        message_sends(server, args.seconds)


if __name__ == "__main__":
    main()
