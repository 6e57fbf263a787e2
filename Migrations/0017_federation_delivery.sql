-- Federation, first increment: enrolment codes with an expiry, each box's own
-- Ed25519 signing identity, payload sequence numbers on the clinic's outbox
-- (which is also its disclosure log), and central's store of what clinics sent:
-- every accepted (clinic, sequence) once, and the latest snapshot of each
-- facility's period as metric cells.

ALTER TABLE federation_peers ADD COLUMN enrollment_expires_at TEXT;
ALTER TABLE federation_peers ADD COLUMN revoked_at TEXT;
ALTER TABLE federation_peers ADD COLUMN last_sequence INTEGER NOT NULL DEFAULT 0 CHECK (last_sequence >= 0);
ALTER TABLE federation_peers ADD COLUMN last_error TEXT;                 -- an error code, never a payload's content

-- This box's signing key (one row). The 32-byte Ed25519 seed is sealed with a
-- key derived from the master key (KeyPurpose.federationSigning), bound to the
-- row id. On a clinic, clinic_id is the id central knows it by and
-- central_peer_id the pinned central (its receipts' public key).
CREATE TABLE federation_identity (
    id                   TEXT PRIMARY KEY NOT NULL,
    singleton            INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    public_key           BLOB NOT NULL CHECK (length(public_key) = 32),
    secret_key_sealed    BLOB NOT NULL,
    clinic_id            TEXT,
    central_peer_id      TEXT REFERENCES federation_peers(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((clinic_id IS NULL) = (central_peer_id IS NULL))
) STRICT;

ALTER TABLE federation_outbox ADD COLUMN sequence INTEGER CHECK (sequence > 0);
ALTER TABLE federation_outbox ADD COLUMN schema_version INTEGER;
CREATE UNIQUE INDEX federation_outbox_sequence_idx ON federation_outbox (peer_id, sequence);
CREATE INDEX federation_outbox_period_idx ON federation_outbox (peer_id, period_start, sequence);

-- Central: every payload accepted from a clinic, by sequence, with the digest
-- of its bytes, so a replay is recognised and a reused sequence number with
-- other content refused.
CREATE TABLE federation_receipts (
    peer_id              TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE RESTRICT,
    sequence             INTEGER NOT NULL CHECK (sequence > 0),
    payload_digest       BLOB NOT NULL CHECK (length(payload_digest) = 32),
    period_start         TEXT NOT NULL,
    received_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (peer_id, sequence)
) STRICT;

-- Central: a facility of an enrolled clinic, as the clinic's payloads name it.
CREATE TABLE federation_facilities (
    id                   TEXT PRIMARY KEY NOT NULL,
    peer_id              TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE RESTRICT,
    source_ref           TEXT NOT NULL,                        -- the clinic's facility id
    name                 TEXT NOT NULL,
    last_seen_at         TEXT NOT NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (peer_id, source_ref)
) STRICT;
CREATE INDEX federation_facilities_peer_idx ON federation_facilities (peer_id);

-- Central: the latest snapshot of each facility's period, one row per metric.
-- value is NULL when suppressed (or when the metric has no denominator).
CREATE TABLE federation_metric_cells (
    facility_id          TEXT NOT NULL REFERENCES federation_facilities(id) ON DELETE RESTRICT,
    period_start         TEXT NOT NULL,                        -- the ISO week's Monday
    period               TEXT NOT NULL,                        -- e.g. 2026-W48
    metric               TEXT NOT NULL,
    value                ANY,
    suppressed           INTEGER NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1)),
    sequence             INTEGER NOT NULL CHECK (sequence > 0),
    schema_version       INTEGER NOT NULL,
    received_at          TEXT NOT NULL,
    PRIMARY KEY (facility_id, period_start, metric),
    CHECK (suppressed = 0 OR value IS NULL)
) STRICT;
CREATE INDEX federation_metric_cells_metric_idx ON federation_metric_cells (metric, period_start);
