#!/usr/bin/env python3
"""Check-in ingestion from the patient app: batched through /sync/push and
one by one through POST /me/check-ins.

Starts the real server (release build) on a loopback port with a fresh data
directory, registers PATIENTS patients (each signs in with their own token),
then runs wrk at 64 connections:
  1. POST /api/v1/sync/push with BATCH check-ins per request (every request
     new ids, one patient per request, distinct days, a 120-character note
     encrypted per item); prints items/s as well as requests/s;
  2. POST /api/v1/me/check-ins, one check-in per request.
Every answered item is durable (the answer comes after its transaction
committed with synchronous=FULL); the script counts the stored rows
afterwards to check that the answered work really reached the database.
Prints requests/s, items/s, latency p50/p99, how many pushes shared a commit,
and the server's memory. Asserts nothing.

Usage: python3 Tests/benchmarks/sync_benchmark.py [--binary PATH] [--patients N] [--batch N] [--seconds N]
Needs: a release build (swift build -c release), wrk, sqlite3, requests.
"""
import concurrent.futures
import os
import subprocess
import time

import requests

from benchlib import BenchServer, arguments, rss_mb, wrk

PATIENT_PASSWORD = "a patient bench password 7"
# Pushed check-ins fall on the last PUSH_DAYS days (cycling, so re-used days are
# rejected rather than stored twice); single POSTs on the days before those.
# PATIENTS * PUSH_DAYS bounds what a run can store: the default 128 patients
# leave room for 25 s at 20,000 items/s.
PUSH_DAYS = 4000

# Shared by both wrk scripts: per-thread patients (tokens), unique ids, distinct days.
LUA_COMMON = r"""
local counter = 0
local tokens = {}
function setup(thread)
  thread_index = (thread_index or 0) + 1
  thread:set("thread_id", thread_index)
end
function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
  local all = {%TOKENS%}
  local threads = %THREADS%
  for i = 1, #all do
    if (i - 1) %% threads == thread_id - 1 then tokens[#tokens + 1] = all[i] end
  end
end
local function uuid()
  return string.format("%%08x-%%04x-4%%03x-a%%03x-%%06x%%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end
local function day(offset)
  return os.date("!%%Y-%%m-%%d", os.time() - (offset + 1) * 86400)
end
local note = "Felt the pull after the shift ended, walked the long way home and called my sponsor instead; evening was calm."
local function check_in(offset, n)
  return string.format('{"local_date":"%%s","timezone":"UTC","mood":%%d,"craving":%%d,"stress":4,"confidence":7,' ..
    '"used_since_last":false,"halt":{"hungry":false,"angry":false,"lonely":%%s,"tired":true},"sleep_hours":7.5,"energy":6,"note":"%%s"}',
    day(offset), 4 + n %% 6, n %% 8, (n %% 2 == 0) and "true" or "false", note)
end
"""

LUA_PUSH = LUA_COMMON + r"""
request = function()
  local p = counter %% #tokens + 1
  local block = math.floor(counter / #tokens) %% %BLOCKS%
  counter = counter + 1
  local items = {}
  for i = 0, %BATCH% - 1 do
    items[#items + 1] = '{"id":"' .. uuid() .. '","type":"check_in","op":"upsert","data":' .. check_in(block * %BATCH% + i, i) .. '}'
  end
  return wrk.format("POST", "/api/v1/sync/push",
    {["Authorization"] = "Bearer " .. tokens[p], ["Content-Type"] = "application/json"},
    '{"items":[' .. table.concat(items, ",") .. ']}')
end
"""

LUA_SINGLE = LUA_COMMON + r"""
request = function()
  local p = counter %% #tokens + 1
  local offset = %OFFSET% + math.floor(counter / #tokens)
  counter = counter + 1
  local body = check_in(offset, counter):sub(1, -2) .. ',"id":"' .. uuid() .. '"}'
  return wrk.format("POST", "/api/v1/me/check-ins",
    {["Authorization"] = "Bearer " .. tokens[p], ["Content-Type"] = "application/json"}, body)
end
"""


def sqlite(db, sql):
    return subprocess.run(["sqlite3", str(db), sql], capture_output=True, text=True, timeout=60).stdout.strip()


def lua(template, tokens, **values):
    text = template.replace("%TOKENS%", ",".join(f'"{t}"' for t in tokens)).replace("%THREADS%", "2")
    for key, value in values.items():
        text = text.replace(f"%{key}%", str(value))
    return text.replace("%%", "%")


def main():
    args = arguments(__doc__, 20, patients=128, batch=500)

    with BenchServer(args.binary, "recovery-sync-bench-") as bench:
        base, data, staff = bench.base, bench.data, bench.admin_token
        server, work = bench.process, bench.work

        def patient(i):
            created = requests.post(base + "/api/v1/patients", headers={"Authorization": f"Bearer {staff}"}, timeout=30, json={
                "first_name": f"Given{i}", "last_name": f"Family{i}", "date_of_birth": "1985-05-05"}).json()
            email = f"bench.patient{i}@example.org"
            requests.post(base + "/api/v1/auth/patient/register", timeout=30, json={
                "registration_key": created["registration_key"], "password": PATIENT_PASSWORD, "email": email}).raise_for_status()
            login = requests.post(base + "/api/v1/auth/patient/login", timeout=30, json={"identifier": email, "password": PATIENT_PASSWORD})
            login.raise_for_status()
            return login.json()["access_token"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            tokens = list(pool.map(patient, range(args.patients)))

        db = os.path.join(data, "recovery.sqlite")
        push_script = os.path.join(work, "push.lua")
        with open(push_script, "w") as f:
            f.write(lua(LUA_PUSH, tokens, BATCH=args.batch, BLOCKS=max(1, PUSH_DAYS // args.batch)))
        before = int(sqlite(db, "SELECT count(*) FROM patient_check_ins"))
        pushed = wrk([base], args.seconds, push_script, timeout_seconds=60)
        answered_push = int(sqlite(db, "SELECT count(*) FROM patient_check_ins"))
        # Pushes still queued when wrk stopped finish on the server; let them drain.
        after_push = answered_push
        while True:
            time.sleep(3)
            now = int(sqlite(db, "SELECT count(*) FROM patient_check_ins"))
            if now == after_push:
                break
            after_push = now

        # Single POSTs use days the pushes never use.
        single_script = os.path.join(work, "single.lua")
        with open(single_script, "w") as f:
            f.write(lua(LUA_SINGLE, tokens, OFFSET=PUSH_DAYS))
        single = wrk([base], args.seconds, single_script)
        after_single = int(sqlite(db, "SELECT count(*) FROM patient_check_ins"))
        rss = rss_mb(server.pid)

        pushes = int(sqlite(db, "SELECT count(*) FROM audit_logs WHERE action = 'sync.push'"))
        commits = int(sqlite(db, "SELECT count(DISTINCT substr(occurred_at, 1, 23)) FROM audit_logs WHERE action = 'sync.push'"))
        print(f"recovery-server {args.binary}  cores={os.cpu_count()}  patients={len(tokens)}  batch={args.batch}")
        print(f"POST /sync/push ({args.batch}/batch)   {pushed['rps']:8.1f} req/s = {pushed['rps'] * args.batch:8.0f} items/s"
              f"  p50={pushed['p50']:7.2f} ms  p99={pushed['p99']:7.2f} ms  non-2xx={pushed['non2xx']}"
              f"  socket errors: {pushed['errors']}  rows stored by the end of the run: {answered_push - before}"
              f" (= {(answered_push - before) / args.seconds:.0f}/s; after draining: {after_push - before})")
        print(f"POST /me/check-ins (single)  {single['rps']:8.0f} req/s"
              f"  p50={single['p50']:7.2f} ms  p99={single['p99']:7.2f} ms  non-2xx={single['non2xx']}"
              f"  socket errors: {single['errors']}  rows stored: {after_single - after_push}")
        print(f"pushes+posts audited: {pushes} in about {commits} distinct commit times (group commit)")
        print(f"server RSS after the runs: {rss:.0f} MB")



if __name__ == "__main__":
    main()
