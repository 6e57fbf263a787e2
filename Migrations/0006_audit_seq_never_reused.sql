-- An audit entry's sequence number is never used twice.
--
-- audit_logs.seq was a plain INTEGER PRIMARY KEY, so SQLite gave a new entry
-- the largest seq present plus one: had the newest entries been removed (the
-- append-only triggers dropped first), the next entries would have taken
-- their numbers again, and the removal would leave no gap. With AUTOINCREMENT
-- SQLite keeps the highest seq ever used in sqlite_sequence, so entries
-- written after a removal leave a gap that `audit verify` reports. (The
-- sealed head file audit.head beside the database shows the removal itself.)
--
-- SQLite cannot add AUTOINCREMENT to a table in place: the table is rebuilt
-- with the same columns, every entry copied with its seq, and its indexes and
-- triggers created again. The copy sets sqlite_sequence to the highest seq.
-- Foreign keys are off while a migration runs and checked before it commits,
-- so audit_log_patients keeps pointing at the same entries.

CREATE TABLE audit_logs_rebuilt (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,    -- chain order; never supplied by the app, never reused
    id                   TEXT NOT NULL UNIQUE,
    occurred_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    facility_id          TEXT,
    actor_kind           TEXT NOT NULL CHECK (actor_kind IN ('staff', 'patient', 'system', 'anonymous')),
    actor_id             TEXT,
    action               TEXT NOT NULL,                        -- e.g. 'patient.read', 'auth.login_failed'
    resource_type        TEXT,
    resource_id          TEXT,
    patient_id           TEXT,
    patient_ids          TEXT CHECK (patient_ids IS NULL OR (json_valid(patient_ids) AND json_type(patient_ids) = 'array')),
    outcome              TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    ip_address_enc       BLOB,
    request_id           TEXT,
    details              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object'),  -- never PHI
    prev_hash            BLOB NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash           BLOB NOT NULL CHECK (length(entry_hash) = 32),
    patient_set          BLOB CHECK (patient_set IS NULL OR length(patient_set) = 32),
    CHECK (actor_id IS NOT NULL OR actor_kind IN ('system', 'anonymous'))
) STRICT;

INSERT INTO audit_logs_rebuilt (seq, id, occurred_at, facility_id, actor_kind, actor_id, action, resource_type, resource_id,
                                patient_id, patient_ids, outcome, ip_address_enc, request_id, details, prev_hash, entry_hash,
                                patient_set)
SELECT seq, id, occurred_at, facility_id, actor_kind, actor_id, action, resource_type, resource_id,
       patient_id, patient_ids, outcome, ip_address_enc, request_id, details, prev_hash, entry_hash, patient_set
FROM audit_logs ORDER BY seq;

DROP TABLE audit_logs;
ALTER TABLE audit_logs_rebuilt RENAME TO audit_logs;

CREATE INDEX audit_logs_time_idx        ON audit_logs (occurred_at);
CREATE INDEX audit_logs_facility_idx    ON audit_logs (facility_id, occurred_at);
CREATE INDEX audit_logs_actor_idx       ON audit_logs (actor_kind, actor_id, seq);
CREATE INDEX audit_logs_action_idx      ON audit_logs (action, seq);
CREATE INDEX audit_logs_patient_idx     ON audit_logs (patient_id, seq) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_logs_patient_set_idx ON audit_logs (patient_set, seq) WHERE patient_set IS NOT NULL;

CREATE TRIGGER audit_logs_chain AFTER INSERT ON audit_logs
WHEN NEW.seq <> (SELECT max(seq) FROM audit_logs)
  OR NEW.prev_hash IS NOT coalesce((SELECT entry_hash FROM audit_logs WHERE seq < NEW.seq ORDER BY seq DESC LIMIT 1),
                                   zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'audit_logs chain broken: prev_hash must equal the latest entry_hash');
END;

-- An entry's single patient is indexed at once, for access history.
CREATE TRIGGER audit_logs_index_patients AFTER INSERT ON audit_logs
WHEN NEW.patient_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq) VALUES (NEW.patient_id, NEW.seq);
END;

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
