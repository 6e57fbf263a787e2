-- A patient's sync pull reads their own changes and their facility's
-- facility-wide ones (announcements, patient_id NULL). This index finds the
-- latter without walking every patient's changes of the facility.
CREATE INDEX sync_changes_facility_wide_idx ON sync_changes (facility_id, seq) WHERE patient_id IS NULL;
