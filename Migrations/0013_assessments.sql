-- Assessments: the built-in standardised measures (PHQ-9, GAD-7, BAM, PACS),
-- scored by the server, and assignments of a measure to the patient's app.
-- The 0001 table was never written by any code, so it is rebuilt:
--
-- * instrument is one of the built-in ids ('phq9', 'gad7', 'bam', 'pacs');
-- * responses_enc (PHIField 31) holds the item scores in item order (a JSON
--   array before encryption); total_score, severity (the band), subscales and
--   flags are the server's scoring, kept in the clear for lists and trends
--   (codes and numbers only);
-- * who administered it: administered_by_kind 'staff' (administered_by set) or
--   'patient' (self-administered in the app, usually for an assignment);
-- * notes_enc stays PHIField 32.

DROP TABLE assessments;

CREATE TABLE assessment_assignments (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    instrument           TEXT NOT NULL CHECK (instrument IN ('phq9', 'gad7', 'bam', 'pacs')),
    assigned_by          TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    due_on               TEXT,
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'cancelled')),
    completed_at         TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
) STRICT;
CREATE INDEX assessment_assignments_patient_idx ON assessment_assignments (facility_id, patient_id, status);

CREATE TABLE assessments (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    instrument           TEXT NOT NULL CHECK (instrument IN ('phq9', 'gad7', 'bam', 'pacs')),
    instrument_version   TEXT NOT NULL,
    responses_enc        BLOB NOT NULL,                        -- item scores (JSON array before encryption)
    total_score          INTEGER CHECK (total_score >= 0),     -- NULL: the instrument has no total (BAM)
    severity             TEXT,                                 -- the band, e.g. 'moderately_severe'
    subscales            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(subscales)),
    flags                TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(flags)),
    administered_by_kind TEXT NOT NULL CHECK (administered_by_kind IN ('staff', 'patient')),
    administered_by      TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL = self-administered in the app
    assignment_id        TEXT UNIQUE REFERENCES assessment_assignments(id) ON DELETE RESTRICT,
    administered_at      TEXT NOT NULL,
    notes_enc            BLOB,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((administered_by_kind = 'staff') = (administered_by IS NOT NULL))
) STRICT;
CREATE INDEX assessments_patient_idx ON assessments (facility_id, patient_id, instrument, administered_at);
