-- Master-key rotation: the key ring (every master-key version the database
-- has known, each with its key check), the state and progress cursor of a
-- rotation, the sub-keys of retired versions that must outlive their master
-- key (sealed under the current one), and the audit chain's key version per
-- entry.

-- One row per master-key version. The key itself is never here: version 1
-- is the file named by `key_file`, version N > 1 the file `<key_file>.vN`.
-- 'current' encrypts; 'retiring' is the version a rotation moves away from
-- (still read); 'retired' is no longer needed and its file may be destroyed.
CREATE TABLE master_key_versions (
    version              INTEGER PRIMARY KEY NOT NULL CHECK (version >= 1),
    key_check            TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('current', 'retiring', 'retired')),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    retired_at           TEXT
) STRICT;
CREATE UNIQUE INDEX master_key_versions_one_current ON master_key_versions (state) WHERE state = 'current';
CREATE UNIQUE INDEX master_key_versions_one_retiring ON master_key_versions (state) WHERE state = 'retiring';

-- A box initialised before this migration has one key: version 1.
INSERT INTO master_key_versions (version, key_check, state)
    SELECT 1, json_extract(value, '$'), 'current' FROM settings WHERE scope = 'box' AND key = 'master_key_check';

-- The latest rotation (one row, replaced by the next one). A pass walks the
-- registered encrypted columns in order, then the documents; `entry` is the
-- position in that list and `after_id` the last row id done, both advanced in
-- the transaction that re-encrypts the batch.
CREATE TABLE key_rotation (
    id                   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    from_version         INTEGER NOT NULL,
    to_version           INTEGER NOT NULL CHECK (to_version = from_version + 1),
    phase                TEXT NOT NULL CHECK (phase IN ('first_pass', 'final_sweep', 'finished')),
    entry                INTEGER NOT NULL DEFAULT 0 CHECK (entry >= 0),
    after_id             TEXT NOT NULL DEFAULT '',
    batches              INTEGER NOT NULL DEFAULT 0,
    rows_reencrypted     INTEGER NOT NULL DEFAULT 0,
    documents_reencrypted INTEGER NOT NULL DEFAULT 0,
    started_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    finished_at          TEXT
) STRICT;

-- Sub-keys of a retired version still needed after its master key is gone:
-- the audit chain's keys (old entries still verify), the audit head file's,
-- the old field key of the append-only audit column, and the keys of blind
-- indexes over secrets that are never stored (refresh tokens, registration
-- keys, recovery codes), so live sessions and issued keys keep working.
-- `key_enc` is sealed like any encrypted column (PHIField 54), so the next
-- rotation re-encrypts it under the next key.
CREATE TABLE retained_subkeys (
    id                   TEXT PRIMARY KEY NOT NULL,        -- '<version>:<purpose>:<subkey id>'
    version              INTEGER NOT NULL,
    purpose              TEXT NOT NULL,
    subkey_id            INTEGER NOT NULL,
    key_enc              BLOB NOT NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (version, purpose, subkey_id)
) STRICT;

-- The master-key version whose audit sub-key hashed the entry. Not part of
-- the hash itself: changing it makes the entry fail to verify.
ALTER TABLE audit_logs ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;

-- Signed treatment plan versions and the accounting of disclosures never
-- change, with one exception: a running key rotation re-encrypts their
-- encrypted columns (same content, new key) and changes nothing else.
DROP TRIGGER treatment_plans_signed_no_update;
CREATE TRIGGER treatment_plans_signed_no_update BEFORE UPDATE ON treatment_plans
WHEN OLD.signed_at IS NOT NULL AND NOT (
    EXISTS (SELECT 1 FROM key_rotation WHERE phase <> 'finished')
    AND NEW.id IS OLD.id AND NEW.facility_id IS OLD.facility_id AND NEW.patient_id IS OLD.patient_id
    AND NEW.template_id IS OLD.template_id AND NEW.previous_version_id IS OLD.previous_version_id
    AND NEW.version IS OLD.version AND NEW.status IS OLD.status AND NEW.start_date IS OLD.start_date
    AND NEW.review_date IS OLD.review_date AND NEW.created_by IS OLD.created_by AND NEW.signed_by IS OLD.signed_by
    AND NEW.signed_at IS OLD.signed_at AND NEW.created_at IS OLD.created_at AND NEW.updated_at IS OLD.updated_at
    AND NEW.deleted_at IS OLD.deleted_at AND NEW.plan_id IS OLD.plan_id AND NEW.template_version IS OLD.template_version)
BEGIN
    SELECT RAISE(ABORT, 'a signed treatment plan version is immutable');
END;

DROP TRIGGER disclosures_no_update;
CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
WHEN NOT (
    EXISTS (SELECT 1 FROM key_rotation WHERE phase <> 'finished')
    AND NEW.id IS OLD.id AND NEW.facility_id IS OLD.facility_id AND NEW.patient_id IS OLD.patient_id
    AND NEW.consent_id IS OLD.consent_id AND NEW.kind IS OLD.kind AND NEW.document_id IS OLD.document_id
    AND NEW.disclosed_by IS OLD.disclosed_by AND NEW.disclosed_at IS OLD.disclosed_at AND NEW.created_at IS OLD.created_at)
BEGIN
    SELECT RAISE(ABORT, 'disclosures are append-only');
END;
