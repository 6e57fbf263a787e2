-- A list read's audit entry names every patient on the page, and staff open
-- the same page of the same list many times a day. Until now each such entry
-- stored the whole list (about 2 KB for fifty patients, so one entry per 4 KiB
-- page) and a background indexer then wrote fifty audit_log_patients rows per
-- entry: together the largest cost of a patient list, and most of what it
-- wrote to disk.
--
-- Now each distinct list of patients is stored once, in audit_patient_sets,
-- under its BLAKE2b-256 digest, with its patients indexed once in
-- audit_patient_set_members. A list read's entry names the list by its digest
-- in the new column patient_set (patient_ids stays NULL); the entry's chain
-- hash covers the digest, and `audit verify` checks that the stored list
-- still has that digest, so the list is as tamper-evident as before. Entries
-- written before this migration keep their patient_ids and verify as before.
--
-- "Which entries involve patient X": the entries indexed under X in
-- audit_log_patients (a single patient_id, and list reads from before), and
-- the entries whose patient_set is a list that contains X.
ALTER TABLE audit_logs ADD COLUMN patient_set BLOB CHECK (patient_set IS NULL OR length(patient_set) = 32);
CREATE INDEX audit_logs_patient_set_idx ON audit_logs (patient_set, seq) WHERE patient_set IS NOT NULL;

CREATE TABLE audit_patient_sets (
    digest               BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),  -- BLAKE2b-256 of patient_ids
    patient_ids          TEXT NOT NULL CHECK (json_valid(patient_ids) AND json_type(patient_ids) = 'array')
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_patient_set_members (
    patient_id           TEXT NOT NULL,
    digest               BLOB NOT NULL REFERENCES audit_patient_sets(digest) ON DELETE RESTRICT,
    PRIMARY KEY (patient_id, digest)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_patient_sets_no_update BEFORE UPDATE ON audit_patient_sets
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_patient_sets_no_delete BEFORE DELETE ON audit_patient_sets
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_patient_set_members_no_update BEFORE UPDATE ON audit_patient_set_members
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_patient_set_members_no_delete BEFORE DELETE ON audit_patient_set_members
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

-- The background indexer is retired: index the list reads it had not reached
-- yet, and drop its progress mark.
INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq)
SELECT j.value, a.seq
FROM audit_logs a, json_each(a.patient_ids) j
WHERE a.patient_ids IS NOT NULL
  AND a.seq > coalesce((SELECT CAST(json_extract(value, '$') AS INTEGER) FROM settings
                        WHERE scope = 'box' AND key = 'audit_patient_index_seq'), 0);

DELETE FROM settings WHERE scope = 'box' AND key = 'audit_patient_index_seq';
