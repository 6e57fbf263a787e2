-- Indexes for the lookups every request of two hot paths makes.

-- The staff patient list counts a facility's live patients and pages through
-- them in patient-number order on every request: this answers the count from
-- the index alone (covering: facility_id, deleted_at) and the page by walking
-- patient numbers in order, instead of reading each patient's row.
CREATE INDEX patients_live_list_idx ON patients (facility_id, deleted_at, patient_number);

-- "One check-in per patient per local day" is checked for every check-in the
-- app sends; by date alone it read every patient's check-ins of that day.
CREATE INDEX patient_check_ins_day_idx ON patient_check_ins (facility_id, patient_id, local_date);
