-- The staff patient list counts a facility's live patients and pages through
-- them in patient-number order on every request. This index answers the count
-- from the index alone (covering: facility_id, deleted_at) and the page by
-- walking patient numbers in order, instead of reading each patient's row.
CREATE INDEX patients_live_list_idx ON patients (facility_id, deleted_at, patient_number);
