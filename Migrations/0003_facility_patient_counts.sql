-- Live (not soft-deleted) patients per facility, kept by triggers in the same
-- transaction as every change to a patient row. The staff list shows its
-- total on every page; for an admin without filters that total is every live
-- patient of the facility, and counting them walked the whole list index on
-- each request (a fifth of the time of a page of 50 among 5,000 patients).
-- Filtered and care-team lists still count with their query.
CREATE TABLE facility_patient_counts (
    facility_id          TEXT PRIMARY KEY NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    live                 INTEGER NOT NULL DEFAULT 0 CHECK (live >= 0)
) STRICT, WITHOUT ROWID;

INSERT INTO facility_patient_counts (facility_id, live)
SELECT f.id, (SELECT count(*) FROM patients p WHERE p.facility_id = f.id AND p.deleted_at IS NULL)
FROM facilities f;

CREATE TRIGGER patients_count_insert AFTER INSERT ON patients
WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO facility_patient_counts (facility_id, live) VALUES (NEW.facility_id, 1)
    ON CONFLICT (facility_id) DO UPDATE SET live = live + 1;
END;

CREATE TRIGGER patients_count_delete AFTER DELETE ON patients
WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE facility_patient_counts SET live = live - 1 WHERE facility_id = OLD.facility_id;
END;

CREATE TRIGGER patients_count_update AFTER UPDATE OF deleted_at, facility_id ON patients
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.facility_id <> NEW.facility_id
BEGIN
    UPDATE facility_patient_counts SET live = live - 1
    WHERE facility_id = OLD.facility_id AND OLD.deleted_at IS NULL;
    INSERT INTO facility_patient_counts (facility_id, live)
    SELECT NEW.facility_id, 1 WHERE NEW.deleted_at IS NULL
    ON CONFLICT (facility_id) DO UPDATE SET live = live + 1;
END;
