-- Sign-in hardening.
--
-- A demo account may sign in without a second factor: `seed --demo` marks its
-- accounts so, one by one, instead of switching the super admin requirement
-- off for the whole box as the demo once did (that box setting is removed
-- below). The exemption ends when the account's password is changed.
ALTER TABLE staff ADD COLUMN mfa_exempt INTEGER NOT NULL DEFAULT 0 CHECK (mfa_exempt IN (0, 1));
DELETE FROM settings WHERE scope = 'box' AND key = 'super_admin_mfa_required';

-- Patient numbers are random (P- and eight characters) and a patient signs in
-- with one without naming a facility, so a number is unique across the box,
-- not only within its facility. Numbers given before were numbered across
-- the box and are already unique.
CREATE UNIQUE INDEX patients_number_idx ON patients (patient_number);
