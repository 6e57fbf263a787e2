-- The patients of a list read are indexed once per distinct page, not once
-- per read. A list read's audit entry names every patient on the page
-- (patient_ids), and staff open the same page of the same list many times a
-- day. Indexing every patient of every such entry in audit_log_patients (in
-- the background, fifty index rows per page of fifty) was the largest single
-- cost of a patient list.
--
-- Now, in the entry's own transaction:
--   * the first entry that names a given patient_ids text has each of its
--     patients in audit_log_patients, as before, and its digest is recorded in
--     audit_patient_sets;
--   * every later entry that names exactly the same patients (the same
--     patient_ids text, so the same patients in the same order) gets one row
--     in audit_log_same_patients pointing at that first entry.
-- "Which entries involve patient X" is then: the entries indexed under X in
-- audit_log_patients, and the entries linked to those. Nothing is summarised
-- or dropped: every entry is found, and the entries themselves are unchanged.
CREATE TABLE audit_patient_sets (
    digest               BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),  -- BLAKE2b-256 of patient_ids
    first_seq            INTEGER NOT NULL REFERENCES audit_logs(seq) ON DELETE RESTRICT
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log_same_patients (
    audit_seq            INTEGER PRIMARY KEY REFERENCES audit_logs(seq) ON DELETE RESTRICT,
    first_seq            INTEGER NOT NULL REFERENCES audit_logs(seq) ON DELETE RESTRICT,
    CHECK (first_seq < audit_seq)
) STRICT;
CREATE INDEX audit_log_same_patients_first_idx ON audit_log_same_patients (first_seq, audit_seq);

CREATE TRIGGER audit_patient_sets_no_update BEFORE UPDATE ON audit_patient_sets
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_patient_sets_no_delete BEFORE DELETE ON audit_patient_sets
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_log_same_patients_no_update BEFORE UPDATE ON audit_log_same_patients
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_log_same_patients_no_delete BEFORE DELETE ON audit_log_same_patients
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

-- The background indexer that filled audit_log_patients from patient_ids is
-- retired: index the entries it had not reached yet, and drop its progress mark.
INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq)
SELECT j.value, a.seq
FROM audit_logs a, json_each(a.patient_ids) j
WHERE a.patient_ids IS NOT NULL
  AND a.seq > coalesce((SELECT CAST(json_extract(value, '$') AS INTEGER) FROM settings
                        WHERE scope = 'box' AND key = 'audit_patient_index_seq'), 0);

DELETE FROM settings WHERE scope = 'box' AND key = 'audit_patient_index_seq';
