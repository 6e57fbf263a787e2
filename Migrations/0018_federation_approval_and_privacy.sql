-- Federation: payloads that wait for an administrator's approval
-- (federation.require_approval). The outbox is rebuilt so its status may be
-- 'awaiting_approval'; approved_at/approved_by record who let a payload go.
-- A payload is approved by the digest of its exact bytes, so a changed
-- snapshot needs an approval of its own.

CREATE TABLE federation_outbox_new (
    id                   TEXT PRIMARY KEY NOT NULL,
    peer_id              TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE RESTRICT,
    batch_id             TEXT NOT NULL UNIQUE,
    period_start         TEXT NOT NULL,
    period_end           TEXT NOT NULL,
    payload              TEXT NOT NULL CHECK (json_valid(payload)),   -- anonymized, small cells suppressed
    signature            BLOB NOT NULL CHECK (length(signature) = 64), -- Ed25519 over the payload bytes
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('awaiting_approval', 'pending', 'sent', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at      TEXT,
    last_error           TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    sent_at              TEXT,
    sequence             INTEGER CHECK (sequence > 0),
    schema_version       INTEGER,
    approved_at          TEXT,
    approved_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    CHECK (period_end >= period_start),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((approved_at IS NULL) = (approved_by IS NULL)),
    CHECK (status <> 'awaiting_approval' OR approved_at IS NULL)
) STRICT;

INSERT INTO federation_outbox_new (id, peer_id, batch_id, period_start, period_end, payload, signature, status, attempts,
                                   next_attempt_at, last_error, created_at, sent_at, sequence, schema_version)
SELECT id, peer_id, batch_id, period_start, period_end, payload, signature, status, attempts,
       next_attempt_at, last_error, created_at, sent_at, sequence, schema_version
FROM federation_outbox;

DROP TABLE federation_outbox;
ALTER TABLE federation_outbox_new RENAME TO federation_outbox;
CREATE INDEX federation_outbox_due_idx ON federation_outbox (status, next_attempt_at) WHERE status <> 'sent';
CREATE UNIQUE INDEX federation_outbox_sequence_idx ON federation_outbox (peer_id, sequence);
CREATE INDEX federation_outbox_period_idx ON federation_outbox (peer_id, period_start, sequence);

-- The privacy budget of the optional discrete Laplace noise (federation.noise_epsilon):
-- per count cell of a facility's week, the exact count last drawn for, the noisy
-- count sent for it, how many draws were made and the epsilon they spent. An
-- unchanged count is re-sent with its noisy value (no new spending); a cell
-- whose budget (federation.noise_budget) is spent keeps its last sent value.
CREATE TABLE federation_privacy_ledger (
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    period_start         TEXT NOT NULL,                        -- the ISO week's Monday
    metric               TEXT NOT NULL,
    exact_value          INTEGER NOT NULL CHECK (exact_value > 0),
    sent_value           INTEGER NOT NULL CHECK (sent_value > 10),
    draws                INTEGER NOT NULL CHECK (draws > 0),
    epsilon_spent        REAL NOT NULL CHECK (epsilon_spent > 0),
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (facility_id, period_start, metric)
) STRICT;
