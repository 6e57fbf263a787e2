-- The access policy's rules, as the schema needs them.
--
-- Care-team assignments end at the moment they are ended (ended_at), not at
-- the end of the day named in ends_on, which stays as the last day of the
-- history shown. Ending an assignment that has not started yet cancels it.
-- Assignments ended before this migration close now, or at the end of the
-- day they named if that is already past.
ALTER TABLE care_team_assignments ADD COLUMN ended_at TEXT;
ALTER TABLE care_team_assignments ADD COLUMN ended_by TEXT REFERENCES staff(id) ON DELETE RESTRICT;
UPDATE care_team_assignments
   SET ended_at = min(ends_on || 'T23:59:59.999Z', strftime('%Y-%m-%dT%H:%M:%fZ','now'))
 WHERE ends_on IS NOT NULL;
CREATE INDEX care_team_current_idx ON care_team_assignments (facility_id, patient_id, staff_id) WHERE ended_at IS NULL;

-- Emergency access can be ended early by an administrator (ended_by), and a
-- renewal ends the grant it renews and names it (renews), so the history of
-- renewals is kept. Review (appropriate / inappropriate) uses the columns of 0001.
ALTER TABLE emergency_access_grants ADD COLUMN ended_at TEXT;
ALTER TABLE emergency_access_grants ADD COLUMN ended_by TEXT REFERENCES staff(id) ON DELETE RESTRICT;
ALTER TABLE emergency_access_grants ADD COLUMN renews TEXT REFERENCES emergency_access_grants(id) ON DELETE RESTRICT;

-- A patient's email is unique within their facility only: a box-wide check
-- told staff of one facility that the person is treated at another, which
-- 42 CFR Part 2 protects. Sign-in by email finds every live account with it
-- (the lookup index below) and the password decides.
DROP INDEX patients_email_idx;
CREATE UNIQUE INDEX patients_email_idx ON patients (facility_id, email_bidx)
    WHERE email_bidx IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX patients_email_lookup_idx ON patients (email_bidx)
    WHERE email_bidx IS NOT NULL AND deleted_at IS NULL;

-- Patient lists are in the order patients were added: stable as new patients
-- join at the end, and a page reads rows stored side by side (patient numbers
-- are random since 0007, so number order scattered a page over the table).
-- The facility list and the box-wide list (a super admin's, without a
-- facility to lead the index) each walk one index in that order.
DROP INDEX patients_live_list_idx;
CREATE INDEX patients_live_list_idx ON patients (facility_id, deleted_at, created_at, id);
CREATE INDEX patients_live_added_idx ON patients (created_at, id) WHERE deleted_at IS NULL;
