-- 0001_initial_schema.sql: the Recovery Appliance's initial schema (SQLite 3.37+, STRICT).
--
-- Conventions (Migrations/README.md has the full list):
--   ids        lowercase UUID text (`id TEXT PRIMARY KEY NOT NULL`)
--   times      RFC 3339 UTC with milliseconds, always exactly '2026-11-25T16:04:55.123Z'
--              (the DEFAULT's format), so that text order is time order
--   dates      'YYYY-MM-DD'; booleans 0/1; enums CHECKed text; JSON CHECKed text
--   *_enc      PHI ciphertext (XChaCha20-Poly1305, bound to table, column and row id)
--   *_bidx     keyed BLAKE2b blind index for exact-match lookup; may give false
--              matches, so decrypt and compare before use
--   patient_id foreign keys are written as (facility_id, patient_id) -> patients
--              (facility_id, id), so no row can point at another facility's patient
--   actor "kind" columns: where the actor can only be the row's own patient, the
--              row has `<x>_kind` plus a staff column that is NULL unless kind = 'staff'
-- The migrator wraps this file in one transaction and sets the pragmas.


-- ===== Facilities and staff ===============================================

CREATE TABLE facilities (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL CHECK (length(trim(name)) > 0),
    timezone             TEXT NOT NULL DEFAULT 'UTC',          -- IANA name, e.g. 'America/Chicago'
    capacity             INTEGER CHECK (capacity >= 0),        -- licensed beds; NULL = not set
    address              TEXT,                                 -- business data, not PHI
    phone                TEXT,
    mfa_policy           TEXT NOT NULL DEFAULT 'admins' CHECK (mfa_policy IN ('none', 'admins', 'all_staff')),
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    settings             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
                         -- the facility's profile options edited with the facility (display, reminders);
                         -- keyed operational settings live in the `settings` table
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) STRICT;

CREATE TABLE staff (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,   -- NULL exactly for super_admin
    role                 TEXT NOT NULL CHECK (role IN ('super_admin', 'admin', 'counselor', 'therapist', 'nurse', 'staff')),
    email_enc            BLOB NOT NULL,
    email_bidx           BLOB NOT NULL UNIQUE,                 -- login identifier, unique per box
    first_name_enc       BLOB NOT NULL,
    last_name_enc        BLOB NOT NULL,
    password_hash        TEXT NOT NULL CHECK (password_hash GLOB '$argon2id$*'),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    password_changed_at  TEXT,
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    deactivated_at       TEXT,
    mfa_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    totp_secret_enc      BLOB,                                 -- set at enrolment, before mfa_enabled = 1
    totp_last_used_step  INTEGER,                              -- replay guard: last accepted TOTP time step
    mfa_enrolled_at      TEXT,
    failed_login_count   INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    locked_until         TEXT,
    last_login_at        TEXT,
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((role = 'super_admin') = (facility_id IS NULL)),
    CHECK (mfa_enabled = 0 OR totp_secret_enc IS NOT NULL)
) STRICT;
CREATE INDEX staff_facility_role_idx ON staff (facility_id, role, is_active);

CREATE TABLE staff_mfa_recovery_codes (
    id                   TEXT PRIMARY KEY NOT NULL,
    staff_id             TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    code_bidx            BLOB NOT NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    used_at              TEXT,
    UNIQUE (staff_id, code_bidx)
) STRICT;


-- ===== Patients ===========================================================

CREATE TABLE patients (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_number       TEXT NOT NULL,                        -- the facility's chart number (not PHI by policy)
    first_name_enc       BLOB NOT NULL,
    first_name_bidx      BLOB NOT NULL,
    last_name_enc        BLOB NOT NULL,
    last_name_bidx       BLOB NOT NULL,
    date_of_birth_enc    BLOB NOT NULL,
    email_enc            BLOB,
    email_bidx           BLOB,                                 -- patient login identifier
    phone_enc            BLOB,
    address_enc          BLOB,
    emergency_contact_enc BLOB,
    gender               TEXT,
    program              TEXT,
    level_of_care        TEXT CHECK (level_of_care IN ('detox', 'residential', 'php', 'iop', 'outpatient', 'alumni')),
    status               TEXT NOT NULL DEFAULT 'pending_registration'
                         CHECK (status IN ('pending_registration', 'active', 'discharged', 'inactive')),
    admission_date       TEXT,
    discharge_date       TEXT,
    sobriety_date        TEXT,
    is_restricted        INTEGER NOT NULL DEFAULT 0 CHECK (is_restricted IN (0, 1)),  -- see patient_access_grants
    password_hash        TEXT CHECK (password_hash GLOB '$argon2id$*'),               -- NULL until registration
    registered_at        TEXT,
    password_changed_at  TEXT,
    failed_login_count   INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    locked_until         TEXT,
    last_login_at        TEXT,
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    UNIQUE (facility_id, patient_number),
    UNIQUE (facility_id, id),                                  -- target of every (facility_id, patient_id) key
    CHECK ((email_enc IS NULL) = (email_bidx IS NULL)),
    CHECK (discharge_date IS NULL OR admission_date IS NULL OR discharge_date >= admission_date)
) STRICT;
CREATE INDEX patients_last_name_idx  ON patients (facility_id, last_name_bidx);
CREATE INDEX patients_first_name_idx ON patients (facility_id, first_name_bidx);
CREATE INDEX patients_status_idx     ON patients (facility_id, status) WHERE deleted_at IS NULL;
-- Patients log in by email without naming a facility, so it is unique per box
-- among live patients. A readmission reuses the patient row (see `admissions`).
CREATE UNIQUE INDEX patients_email_idx ON patients (email_bidx)
    WHERE email_bidx IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE patient_sobriety_history (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    previous_date        TEXT,
    new_date             TEXT,
    reason_enc           BLOB,
    changed_by_kind      TEXT NOT NULL CHECK (changed_by_kind IN ('staff', 'patient')),
    changed_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL when the patient did it
    changed_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((changed_by_kind = 'staff') = (changed_by IS NOT NULL))
) STRICT;
CREATE INDEX patient_sobriety_history_idx ON patient_sobriety_history (facility_id, patient_id, changed_at);

CREATE TABLE patient_level_of_care_history (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    previous_level       TEXT CHECK (previous_level IN ('detox', 'residential', 'php', 'iop', 'outpatient', 'alumni')),
    new_level            TEXT NOT NULL CHECK (new_level IN ('detox', 'residential', 'php', 'iop', 'outpatient', 'alumni')),
    effective_date       TEXT NOT NULL,
    reason_enc           BLOB,
    changed_by           TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    changed_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX patient_level_of_care_history_idx ON patient_level_of_care_history (facility_id, patient_id, effective_date);


-- ===== Authentication: registration keys, sessions, brute-force limits, MFA =====

CREATE TABLE registration_keys (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    key_bidx             BLOB NOT NULL UNIQUE,
    created_by           TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    expires_at           TEXT NOT NULL,
    used_at              TEXT,
    revoked_at           TEXT,
    revoked_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    superseded_at        TEXT,                                 -- replaced by a newer key (also after expiry)
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NOT NULL) + (revoked_at IS NOT NULL) + (superseded_at IS NOT NULL) <= 1)
) STRICT;
-- At most one live (unused, unrevoked, unsuperseded) key per patient.
CREATE UNIQUE INDEX registration_keys_one_live_idx ON registration_keys (patient_id)
    WHERE used_at IS NULL AND revoked_at IS NULL AND superseded_at IS NULL;
CREATE INDEX registration_keys_patient_idx ON registration_keys (facility_id, patient_id, created_at);

-- One row per refresh token. Rotation marks the row rotated_at and inserts its child
-- (same family_id, parent_session_id = this id); presenting a rotated token again
-- revokes the whole family.
CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY NOT NULL,
    subject_kind         TEXT NOT NULL CHECK (subject_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,   -- NULL only for a super admin
    family_id            TEXT NOT NULL,
    parent_session_id    TEXT REFERENCES sessions(id) ON DELETE RESTRICT,
    refresh_token_bidx   BLOB NOT NULL UNIQUE,
    device_enc           BLOB,                                 -- user agent / device description
    ip_address_enc       BLOB,
    mfa_verified_at      TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    last_used_at         TEXT,
    idle_expires_at      TEXT NOT NULL,
    absolute_expires_at  TEXT NOT NULL,
    rotated_at           TEXT,
    revoked_at           TEXT,
    revoke_reason        TEXT,   -- code: logout, reuse_detected, password_changed, deactivated, admin, ...
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((subject_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (subject_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    CHECK (facility_id IS NOT NULL OR subject_kind = 'staff'),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT;
CREATE INDEX sessions_staff_idx   ON sessions (staff_id)   WHERE staff_id IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX sessions_patient_idx ON sessions (patient_id) WHERE patient_id IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX sessions_family_idx  ON sessions (family_id);
CREATE INDEX sessions_expiry_idx  ON sessions (absolute_expires_at);

-- Box-wide: attempts come before anyone knows the facility. Pruned by age.
CREATE TABLE auth_attempts (
    id                   TEXT PRIMARY KEY NOT NULL,
    scope                TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    subject_bidx         BLOB NOT NULL,                        -- keyed hash of the normalised identifier or IP
    kind                 TEXT NOT NULL CHECK (kind IN ('login', 'registration', 'mfa')),
    succeeded            INTEGER NOT NULL DEFAULT 0 CHECK (succeeded IN (0, 1)),
    attempted_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) STRICT;
CREATE INDEX auth_attempts_subject_idx ON auth_attempts (scope, subject_bidx, kind, attempted_at);
CREATE INDEX auth_attempts_time_idx    ON auth_attempts (attempted_at);

-- The second step of a staff login: password accepted, TOTP or recovery code pending.
CREATE TABLE mfa_challenges (
    id                   TEXT PRIMARY KEY NOT NULL,
    staff_id             TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    token_bidx           BLOB NOT NULL UNIQUE,
    purpose              TEXT NOT NULL DEFAULT 'login' CHECK (purpose IN ('login', 'enrol')),
    attempt_count        INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    expires_at           TEXT NOT NULL,
    consumed_at          TEXT
) STRICT;
CREATE INDEX mfa_challenges_staff_idx ON mfa_challenges (staff_id, created_at);


-- ===== Audit trail (HIPAA 164.312(b)): append-only, hash-chained ==========
-- No foreign keys on purpose: the trail must accept any actor or resource id
-- (including attempts against ids that do not exist) and never block a write.
-- entry_hash covers the row's content and prev_hash; the first row's prev_hash is
-- 32 zero bytes. The app computes the hashes; the triggers below enforce the links.

CREATE TABLE audit_logs (
    seq                  INTEGER PRIMARY KEY,                  -- chain order; never supplied by the app
    id                   TEXT NOT NULL UNIQUE,
    occurred_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    facility_id          TEXT,
    actor_kind           TEXT NOT NULL CHECK (actor_kind IN ('staff', 'patient', 'system', 'anonymous')),
    actor_id             TEXT,
    action               TEXT NOT NULL,                        -- e.g. 'patient.read', 'auth.login_failed'
    resource_type        TEXT,
    resource_id          TEXT,
    patient_id           TEXT,
    patient_ids          TEXT CHECK (patient_ids IS NULL OR (json_valid(patient_ids) AND json_type(patient_ids) = 'array')),
    outcome              TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    ip_address_enc       BLOB,
    request_id           TEXT,
    details              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object'),  -- never PHI
    prev_hash            BLOB NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash           BLOB NOT NULL CHECK (length(entry_hash) = 32),
    CHECK (actor_id IS NOT NULL OR actor_kind IN ('system', 'anonymous'))
) STRICT;
CREATE INDEX audit_logs_time_idx     ON audit_logs (occurred_at);
CREATE INDEX audit_logs_facility_idx ON audit_logs (facility_id, occurred_at);
CREATE INDEX audit_logs_actor_idx    ON audit_logs (actor_kind, actor_id, seq);
CREATE INDEX audit_logs_action_idx   ON audit_logs (action, seq);
CREATE INDEX audit_logs_patient_idx  ON audit_logs (patient_id, seq) WHERE patient_id IS NOT NULL;

-- Every patient an audit entry touches (patient_id and each of patient_ids), filled
-- by trigger, so "who saw patient X" is an index lookup rather than a JSON scan.
CREATE TABLE audit_log_patients (
    patient_id           TEXT NOT NULL,
    audit_seq            INTEGER NOT NULL REFERENCES audit_logs(seq) ON DELETE RESTRICT,
    PRIMARY KEY (patient_id, audit_seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_logs_chain AFTER INSERT ON audit_logs
WHEN NEW.seq <> (SELECT max(seq) FROM audit_logs)
  OR NEW.prev_hash IS NOT coalesce((SELECT entry_hash FROM audit_logs WHERE seq < NEW.seq ORDER BY seq DESC LIMIT 1),
                                   zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'audit_logs chain broken: prev_hash must equal the latest entry_hash');
END;

-- The single patient of an entry is indexed at once. The many patients of a
-- list read (patient_ids) are indexed afterwards by the server's audit indexer
-- in large batches, off the request path; it records its progress in
-- settings ('audit_patient_index_seq') and catches up before every
-- access-history query, so answers are always complete.
CREATE TRIGGER audit_logs_index_patients AFTER INSERT ON audit_logs
WHEN NEW.patient_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq) VALUES (NEW.patient_id, NEW.seq);
END;

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_log_patients_no_update BEFORE UPDATE ON audit_log_patients
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_log_patients_no_delete BEFORE DELETE ON audit_log_patients
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;


-- ===== Access to patients: care teams, restricted patients, break the glass =====

CREATE TABLE care_team_assignments (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    staff_id             TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    role                 TEXT NOT NULL CHECK (role IN ('primary_counselor', 'counselor', 'therapist', 'nurse',
                                                        'psychiatrist', 'case_manager')),
    starts_on            TEXT NOT NULL DEFAULT (date('now')),
    ends_on              TEXT,                                 -- last day on the team; NULL = open-ended
    assigned_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (ends_on IS NULL OR ends_on >= starts_on)
) STRICT;
CREATE INDEX care_team_staff_idx   ON care_team_assignments (facility_id, staff_id, ends_on);
CREATE INDEX care_team_patient_idx ON care_team_assignments (facility_id, patient_id, ends_on);
CREATE UNIQUE INDEX care_team_one_primary_idx ON care_team_assignments (patient_id)
    WHERE role = 'primary_counselor' AND ends_on IS NULL;
CREATE UNIQUE INDEX care_team_no_duplicate_idx ON care_team_assignments (patient_id, staff_id, role)
    WHERE ends_on IS NULL;

-- Restricted patients (patients.is_restricted = 1): only the care team and these named staff.
CREATE TABLE patient_access_grants (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    staff_id             TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    granted_by           TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    granted_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    revoked_at           TEXT,
    revoked_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
) STRICT;
CREATE UNIQUE INDEX patient_access_grants_live_idx ON patient_access_grants (patient_id, staff_id)
    WHERE revoked_at IS NULL;
CREATE INDEX patient_access_grants_staff_idx ON patient_access_grants (facility_id, staff_id) WHERE revoked_at IS NULL;

-- Break the glass: time-limited access with a stated reason, reviewed afterwards.
CREATE TABLE emergency_access_grants (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    staff_id             TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    reason_enc           BLOB NOT NULL,
    granted_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    expires_at           TEXT NOT NULL,
    reviewed_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    reviewed_at          TEXT,
    review_outcome       TEXT CHECK (review_outcome IN ('appropriate', 'inappropriate')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (expires_at > granted_at),
    CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL) AND (reviewed_at IS NULL) = (review_outcome IS NULL))
) STRICT;
CREATE INDEX emergency_access_lookup_idx ON emergency_access_grants (facility_id, staff_id, patient_id, expires_at);
CREATE INDEX emergency_access_unreviewed_idx ON emergency_access_grants (facility_id, granted_at) WHERE reviewed_at IS NULL;


-- ===== Recovery data from the patient app (offline-first, synced) ==========

CREATE TABLE patient_check_ins (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    checked_in_at        TEXT NOT NULL,                        -- when the patient made it (device clock, UTC)
    local_date           TEXT NOT NULL,                        -- the patient's calendar day
    timezone             TEXT NOT NULL,                        -- IANA name on the device
    mood                 INTEGER NOT NULL CHECK (mood BETWEEN 1 AND 10),
    craving              INTEGER CHECK (craving BETWEEN 0 AND 10),
    stress               INTEGER CHECK (stress BETWEEN 0 AND 10),
    confidence           INTEGER CHECK (confidence BETWEEN 0 AND 10),
    used_since_last      INTEGER NOT NULL DEFAULT 0 CHECK (used_since_last IN (0, 1)),
    halt_hungry          INTEGER NOT NULL DEFAULT 0 CHECK (halt_hungry IN (0, 1)),
    halt_angry           INTEGER NOT NULL DEFAULT 0 CHECK (halt_angry IN (0, 1)),
    halt_lonely          INTEGER NOT NULL DEFAULT 0 CHECK (halt_lonely IN (0, 1)),
    halt_tired           INTEGER NOT NULL DEFAULT 0 CHECK (halt_tired IN (0, 1)),
    sleep_hours          REAL CHECK (sleep_hours BETWEEN 0 AND 24),
    energy               INTEGER CHECK (energy BETWEEN 1 AND 10),
    note_enc             BLOB,
    client_updated_at    TEXT,                                 -- last-writer-wins for offline edits
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX patient_check_ins_patient_idx ON patient_check_ins (facility_id, patient_id, checked_in_at);
CREATE INDEX patient_check_ins_date_idx    ON patient_check_ins (facility_id, local_date);

-- The facility's catalogue of craving triggers; cravings store the codes.
CREATE TABLE facility_triggers (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    code                 TEXT NOT NULL CHECK (code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z0-9_]*'),
    label                TEXT NOT NULL,
    is_default           INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    sort_order           INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (facility_id, code)
) STRICT;

CREATE TABLE patient_cravings (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    occurred_at          TEXT NOT NULL,
    intensity            INTEGER NOT NULL CHECK (intensity BETWEEN 1 AND 10),
    duration_minutes     INTEGER CHECK (duration_minutes >= 0),
    triggers             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(triggers) AND json_type(triggers) = 'array'),
                         -- facility_triggers.code values
    trigger_note_enc     BLOB,
    coping_strategy_enc  BLOB,
    acted_on             INTEGER NOT NULL DEFAULT 0 CHECK (acted_on IN (0, 1)),   -- 1 = a lapse
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX patient_cravings_patient_idx ON patient_cravings (facility_id, patient_id, occurred_at);
CREATE INDEX patient_cravings_time_idx    ON patient_cravings (facility_id, occurred_at);

CREATE TABLE meetings (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('aa', 'na', 'smart', 'facility_group', 'other')),
    day_of_week          INTEGER CHECK (day_of_week BETWEEN 0 AND 6),    -- 0 = Sunday (as strftime('%w'))
    start_time           TEXT CHECK (strftime('%H:%M', start_time) IS start_time),   -- 'HH:MM' facility time
    duration_minutes     INTEGER CHECK (duration_minutes > 0),
    location             TEXT,
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) STRICT;
CREATE INDEX meetings_facility_idx ON meetings (facility_id, is_active, day_of_week);

CREATE TABLE meeting_attendance (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    meeting_id           TEXT REFERENCES meetings(id) ON DELETE RESTRICT,   -- NULL = not in the catalogue
    meeting_kind         TEXT NOT NULL CHECK (meeting_kind IN ('aa', 'na', 'smart', 'facility_group', 'other')),
    attended_at          TEXT NOT NULL,
    verification         TEXT NOT NULL DEFAULT 'self_reported' CHECK (verification IN ('self_reported', 'staff_verified')),
    verified_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    verified_at          TEXT,
    note_enc             BLOB,
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((verification = 'staff_verified') = (verified_by IS NOT NULL))
) STRICT;
CREATE INDEX meeting_attendance_patient_idx ON meeting_attendance (facility_id, patient_id, attended_at);
CREATE INDEX meeting_attendance_time_idx    ON meeting_attendance (facility_id, attended_at);

CREATE TABLE patient_medications (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    name_enc             BLOB NOT NULL,
    dose                 TEXT,                                 -- e.g. '8 mg'
    route                TEXT,                                 -- e.g. 'oral', 'sublingual', 'injection'
    schedule             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(schedule)),   -- times/days, no PHI
    prescribed_by        TEXT REFERENCES staff(id) ON DELETE RESTRICT,            -- NULL = outside prescriber
    starts_on            TEXT,
    ends_on              TEXT,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'discontinued', 'completed')),
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)
) STRICT;
CREATE INDEX patient_medications_patient_idx ON patient_medications (facility_id, patient_id, status);

CREATE TABLE medication_doses (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    medication_id        TEXT NOT NULL REFERENCES patient_medications(id) ON DELETE RESTRICT,
    scheduled_for        TEXT,                                 -- NULL = as-needed dose
    taken_at             TEXT,
    status               TEXT NOT NULL CHECK (status IN ('taken', 'skipped', 'late')),
    note_enc             BLOB,
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (status = 'skipped' OR taken_at IS NOT NULL)
) STRICT;
CREATE INDEX medication_doses_patient_idx ON medication_doses (facility_id, patient_id, scheduled_for);
CREATE UNIQUE INDEX medication_doses_slot_idx ON medication_doses (medication_id, scheduled_for)
    WHERE scheduled_for IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE journal_entries (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    title_enc            BLOB,
    body_enc             BLOB NOT NULL,
    shared_with_care_team INTEGER NOT NULL DEFAULT 0 CHECK (shared_with_care_team IN (0, 1)),
    written_at           TEXT NOT NULL,                        -- device clock, UTC
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX journal_entries_patient_idx ON journal_entries (facility_id, patient_id, written_at);


-- ===== Treatment: plans, templates, goals, assessments =====================

CREATE TABLE treatment_plan_templates (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,   -- NULL = global template
    name                 TEXT NOT NULL,
    description          TEXT,
    content              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(content)),   -- structure only, no PHI
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
) STRICT;
CREATE INDEX treatment_plan_templates_facility_idx ON treatment_plan_templates (facility_id, is_active);

-- Editing a signed plan makes a new row (version + 1, previous_version_id -> old row).
CREATE TABLE treatment_plans (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    template_id          TEXT REFERENCES treatment_plan_templates(id) ON DELETE RESTRICT,
    previous_version_id  TEXT REFERENCES treatment_plans(id) ON DELETE RESTRICT,
    version              INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    title_enc            BLOB NOT NULL,
    content_enc          BLOB,                                 -- the plan body (JSON before encryption)
    status               TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'completed', 'archived')),
    start_date           TEXT,
    review_date          TEXT,
    created_by           TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    signed_by            TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    signed_at            TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((signed_by IS NULL) = (signed_at IS NULL))
) STRICT;
CREATE INDEX treatment_plans_patient_idx ON treatment_plans (facility_id, patient_id, status);
CREATE INDEX treatment_plans_review_idx  ON treatment_plans (facility_id, review_date) WHERE deleted_at IS NULL;

CREATE TABLE patient_goals (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    treatment_plan_id    TEXT REFERENCES treatment_plans(id) ON DELETE RESTRICT,
    title_enc            BLOB NOT NULL,
    description_enc      BLOB,
    category             TEXT,                                 -- code, e.g. 'sobriety', 'health', 'relationships'
    target_date          TEXT,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'paused', 'cancelled')),
    progress_percent     INTEGER NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    assigned_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL = set by the patient
    completed_at         TEXT,
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX patient_goals_patient_idx ON patient_goals (facility_id, patient_id, status);

CREATE TABLE goal_progress (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    goal_id              TEXT NOT NULL REFERENCES patient_goals(id) ON DELETE RESTRICT,
    progress_percent     INTEGER NOT NULL CHECK (progress_percent BETWEEN 0 AND 100),
    note_enc             BLOB,
    recorded_by_kind     TEXT NOT NULL CHECK (recorded_by_kind IN ('staff', 'patient')),
    recorded_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL when the patient recorded it
    recorded_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    client_updated_at    TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((recorded_by_kind = 'staff') = (recorded_by IS NOT NULL))
) STRICT;
CREATE INDEX goal_progress_goal_idx ON goal_progress (facility_id, goal_id, recorded_at);

CREATE TABLE assessments (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    instrument           TEXT NOT NULL CHECK (instrument IN ('phq9', 'gad7', 'bam', 'audit', 'other')),
    instrument_version   TEXT,
    responses_enc        BLOB,                                 -- item answers (JSON before encryption)
    total_score          INTEGER CHECK (total_score >= 0),
    severity             TEXT,                                 -- instrument's band, e.g. 'moderately_severe'
    administered_by      TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL = self-administered in the app
    administered_at      TEXT NOT NULL,
    notes_enc            BLOB,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX assessments_patient_idx ON assessments (facility_id, patient_id, instrument, administered_at);


-- ===== Communication: conversations, announcements, crisis alerts, notifications =====

CREATE TABLE conversations (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    kind                 TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    subject_enc          BLOB,
    created_by_kind      TEXT NOT NULL CHECK (created_by_kind IN ('staff', 'patient')),
    created_by_staff_id  TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_by_patient_id TEXT,
    last_message_at      TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, created_by_patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((created_by_kind = 'staff'   AND created_by_staff_id IS NOT NULL AND created_by_patient_id IS NULL)
        OR (created_by_kind = 'patient' AND created_by_patient_id IS NOT NULL AND created_by_staff_id IS NULL))
) STRICT;
CREATE INDEX conversations_facility_idx ON conversations (facility_id, last_message_at);

-- A person rejoining gets left_at cleared on their existing row (one row per person).
CREATE TABLE conversation_participants (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    conversation_id      TEXT NOT NULL REFERENCES conversations(id) ON DELETE RESTRICT,
    participant_kind     TEXT NOT NULL CHECK (participant_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    joined_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    left_at              TEXT,
    last_read_message_at TEXT,                                 -- created_at of the last message read
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((participant_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (participant_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    UNIQUE (conversation_id, staff_id),
    UNIQUE (conversation_id, patient_id)
) STRICT;
CREATE INDEX conversation_participants_staff_idx   ON conversation_participants (staff_id, conversation_id) WHERE staff_id IS NOT NULL;
CREATE INDEX conversation_participants_patient_idx ON conversation_participants (facility_id, patient_id) WHERE patient_id IS NOT NULL;

CREATE TABLE messages (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    conversation_id      TEXT NOT NULL REFERENCES conversations(id) ON DELETE RESTRICT,
    sender_kind          TEXT NOT NULL CHECK (sender_kind IN ('staff', 'patient')),
    sender_staff_id      TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    sender_patient_id    TEXT,
    body_enc             BLOB NOT NULL,
    client_message_id    TEXT,                                 -- the sender's idempotency key
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    edited_at            TEXT,
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, sender_patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((sender_kind = 'staff'   AND sender_staff_id IS NOT NULL AND sender_patient_id IS NULL)
        OR (sender_kind = 'patient' AND sender_patient_id IS NOT NULL AND sender_staff_id IS NULL)),
    UNIQUE (sender_staff_id, client_message_id),
    UNIQUE (sender_patient_id, client_message_id)
) STRICT;
CREATE INDEX messages_conversation_idx ON messages (facility_id, conversation_id, created_at);

CREATE TABLE message_reads (
    message_id           TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    participant_id       TEXT NOT NULL REFERENCES conversation_participants(id) ON DELETE CASCADE,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    read_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (message_id, participant_id)
) STRICT;
CREATE INDEX message_reads_participant_idx ON message_reads (participant_id);

-- Facility-wide notices, not about a patient: title and body stay plain.
CREATE TABLE announcements (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    title                TEXT NOT NULL,
    body                 TEXT NOT NULL,
    audience             TEXT NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'patients', 'staff')),
    priority             TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    published_at         TEXT,                                 -- NULL = draft
    expires_at           TEXT,
    author_id            TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    CHECK (expires_at IS NULL OR published_at IS NULL OR expires_at > published_at)
) STRICT;
CREATE INDEX announcements_facility_idx ON announcements (facility_id, published_at);

-- Read receipts: one row per reader, keyed by the two UNIQUE constraints (no id).
CREATE TABLE announcement_reads (
    announcement_id      TEXT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    reader_kind          TEXT NOT NULL CHECK (reader_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE CASCADE,
    patient_id           TEXT,
    read_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE CASCADE,
    CHECK ((reader_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (reader_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    UNIQUE (announcement_id, staff_id),
    UNIQUE (announcement_id, patient_id)
) STRICT;

CREATE TABLE crisis_alerts (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    raised_by_kind       TEXT NOT NULL CHECK (raised_by_kind IN ('staff', 'patient', 'system')),
    raised_by            TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- set exactly when kind = 'staff'
    source               TEXT NOT NULL CHECK (source IN ('patient_button', 'check_in', 'craving', 'staff', 'system')),
    source_record_id     TEXT,                                 -- e.g. the check-in that raised it
    severity             TEXT NOT NULL DEFAULT 'high' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status               TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'escalated', 'resolved')),
    note_enc             BLOB,
    acknowledged_by      TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    acknowledged_at      TEXT,
    escalation_level     INTEGER NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
    escalated_at         TEXT,
    resolved_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    resolved_at          TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((raised_by_kind = 'staff') = (raised_by IS NOT NULL)),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL) AND (resolved_at IS NULL) = (resolved_by IS NULL))
) STRICT;
CREATE INDEX crisis_alerts_patient_idx ON crisis_alerts (facility_id, patient_id, created_at);
CREATE INDEX crisis_alerts_open_idx    ON crisis_alerts (facility_id, status, created_at) WHERE status <> 'resolved';

CREATE TABLE crisis_alert_events (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    alert_id             TEXT NOT NULL REFERENCES crisis_alerts(id) ON DELETE RESTRICT,
    event                TEXT NOT NULL CHECK (event IN ('created', 'acknowledged', 'escalated', 'note', 'resolved')),
    actor_kind           TEXT NOT NULL CHECK (actor_kind IN ('staff', 'patient', 'system')),
    actor_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,    -- set exactly when kind = 'staff'
    escalation_level     INTEGER CHECK (escalation_level >= 0),
    note_enc             BLOB,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((actor_kind = 'staff') = (actor_id IS NOT NULL))
) STRICT;
CREATE INDEX crisis_alert_events_alert_idx ON crisis_alert_events (facility_id, alert_id, created_at);

CREATE TABLE notifications (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,   -- NULL only for a super admin
    recipient_kind       TEXT NOT NULL CHECK (recipient_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    kind                 TEXT NOT NULL,                        -- code, e.g. 'message', 'crisis_alert', 'goal_assigned'
    title_enc            BLOB,
    body_enc             BLOB,
    data                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),   -- ids for deep links, no PHI
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    pushed_at            TEXT,
    read_at              TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((recipient_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (recipient_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    CHECK (facility_id IS NOT NULL OR recipient_kind = 'staff')
) STRICT;
CREATE INDEX notifications_staff_idx   ON notifications (staff_id, read_at, created_at)   WHERE staff_id IS NOT NULL;
CREATE INDEX notifications_patient_idx ON notifications (facility_id, patient_id, created_at) WHERE patient_id IS NOT NULL;

CREATE TABLE devices (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,   -- NULL only for a super admin
    owner_kind           TEXT NOT NULL CHECK (owner_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    platform             TEXT NOT NULL CHECK (platform IN ('ios', 'android', 'desktop', 'web')),
    push_token_enc       BLOB,
    push_token_bidx      BLOB,
    app_version          TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    last_seen_at         TEXT,
    disabled_at          TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((owner_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (owner_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    CHECK (facility_id IS NOT NULL OR owner_kind = 'staff'),
    CHECK ((push_token_enc IS NULL) = (push_token_bidx IS NULL))
) STRICT;
CREATE UNIQUE INDEX devices_push_token_idx ON devices (push_token_bidx) WHERE push_token_bidx IS NOT NULL;
CREATE INDEX devices_staff_idx   ON devices (staff_id)                WHERE staff_id IS NOT NULL;
CREATE INDEX devices_patient_idx ON devices (facility_id, patient_id) WHERE patient_id IS NOT NULL;


-- ===== Documents and 42 CFR Part 2 consents ================================

-- Contents live encrypted on local disk under storage_name (random, never user input).
CREATE TABLE documents (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT,                                 -- NULL = a facility document (forms, policies)
    uploaded_by_kind     TEXT NOT NULL CHECK (uploaded_by_kind IN ('staff', 'patient')),
    uploaded_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL when the patient uploaded it
    title_enc            BLOB NOT NULL,
    filename_enc         BLOB,
    content_type         TEXT NOT NULL,
    size_bytes           INTEGER NOT NULL CHECK (size_bytes >= 0),          -- plaintext size
    sha256               BLOB NOT NULL CHECK (length(sha256) = 32),         -- of the stored ciphertext
    storage_name         TEXT NOT NULL UNIQUE
                         CHECK (length(storage_name) BETWEEN 16 AND 128 AND storage_name NOT GLOB '*[^0-9a-z_-]*'),
    key_version          INTEGER NOT NULL DEFAULT 1 CHECK (key_version >= 1),
    category             TEXT,                                 -- code, e.g. 'consent', 'lab', 'id', 'discharge'
    patient_visible      INTEGER NOT NULL DEFAULT 0 CHECK (patient_visible IN (0, 1)),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((uploaded_by_kind = 'staff') = (uploaded_by IS NOT NULL)),
    CHECK (uploaded_by_kind = 'staff' OR patient_id IS NOT NULL)
) STRICT;
CREATE INDEX documents_patient_idx  ON documents (facility_id, patient_id, created_at);
CREATE INDEX documents_category_idx ON documents (facility_id, category) WHERE deleted_at IS NULL;

-- Part 2 (42 CFR 2.31) consent: who may receive what, for what purpose, until when.
CREATE TABLE consents (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    recipient_enc        BLOB NOT NULL,
    purpose              TEXT NOT NULL,                        -- code, e.g. 'treatment', 'payment', 'legal'
    information_scope    TEXT NOT NULL,                        -- code, e.g. 'all', 'attendance', 'medications'
    granted_at           TEXT NOT NULL,
    expires_at           TEXT,
    expiry_condition_enc BLOB,                                 -- an event or condition instead of a date
    revoked_at           TEXT,
    revocation_recorded_by TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    signature_enc        BLOB,
    document_id          TEXT REFERENCES documents(id) ON DELETE RESTRICT,   -- the signed form
    recorded_by          TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (expires_at IS NOT NULL OR expiry_condition_enc IS NOT NULL),
    CHECK (expires_at IS NULL OR expires_at > granted_at),
    CHECK ((revoked_at IS NULL) = (revocation_recorded_by IS NULL))
) STRICT;
CREATE INDEX consents_patient_idx ON consents (facility_id, patient_id, granted_at);


-- ===== Census: beds, admissions, bed assignments ===========================

CREATE TABLE beds (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    unit                 TEXT,
    room                 TEXT NOT NULL,
    label                TEXT NOT NULL,                        -- e.g. 'A'
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (facility_id, room, label)
) STRICT;

-- One row per episode of care; a readmission is a new row for the same patient.
CREATE TABLE admissions (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    admitted_at          TEXT NOT NULL,
    level_of_care        TEXT NOT NULL CHECK (level_of_care IN ('detox', 'residential', 'php', 'iop', 'outpatient', 'alumni')),
    referral_source_enc  BLOB,
    bed_id               TEXT REFERENCES beds(id) ON DELETE RESTRICT,   -- bed at admission; moves in bed_assignments
    discharged_at        TEXT,
    discharge_reason     TEXT,   -- code: completed, transferred, against_medical_advice, administrative, ...
    discharge_disposition TEXT,  -- code: home, sober_living, step_down, hospital, ...
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (discharged_at IS NULL OR discharged_at >= admitted_at)
) STRICT;
CREATE INDEX admissions_patient_idx ON admissions (facility_id, patient_id, admitted_at);
CREATE INDEX admissions_time_idx    ON admissions (facility_id, admitted_at);
CREATE UNIQUE INDEX admissions_one_open_idx ON admissions (patient_id)
    WHERE discharged_at IS NULL AND deleted_at IS NULL;

CREATE TABLE bed_assignments (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    bed_id               TEXT NOT NULL REFERENCES beds(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    admission_id         TEXT REFERENCES admissions(id) ON DELETE RESTRICT,
    starts_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    ends_at              TEXT,
    assigned_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
) STRICT;
CREATE UNIQUE INDEX bed_assignments_open_bed_idx     ON bed_assignments (bed_id)     WHERE ends_at IS NULL;
CREATE UNIQUE INDEX bed_assignments_open_patient_idx ON bed_assignments (patient_id) WHERE ends_at IS NULL;
CREATE INDEX bed_assignments_patient_idx ON bed_assignments (facility_id, patient_id, starts_at);


-- ===== Offline sync: idempotency and the change feed =======================

CREATE TABLE sync_idempotency (
    patient_id           TEXT NOT NULL,
    client_item_id       TEXT NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    item_type            TEXT NOT NULL,                        -- e.g. 'check_in', 'craving'
    payload_hash         BLOB NOT NULL,                        -- same id + different hash = conflict
    status               TEXT NOT NULL CHECK (status IN ('stored', 'rejected')),
    record_id            TEXT,                                 -- the row it produced, when stored
    result               TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(result)),   -- the answer replayed on retry
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (patient_id, client_item_id),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX sync_idempotency_time_idx ON sync_idempotency (created_at);

-- Written in the same transaction as the change it describes. AUTOINCREMENT: a seq
-- is never reused, so a client's "since seq N" cursor is always safe.
CREATE TABLE sync_changes (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT,                                 -- NULL = facility-wide (e.g. announcements)
    record_type          TEXT NOT NULL,                        -- table name, e.g. 'patient_check_ins'
    record_id            TEXT NOT NULL,
    op                   TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    changed_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX sync_changes_patient_idx  ON sync_changes (patient_id, seq);
CREATE INDEX sync_changes_facility_idx ON sync_changes (facility_id, seq);


-- ===== Analytics: risk scores, flags, insights, reports ====================

-- score is on a 0-100 scale: the sum of the explainable factor contributions.
CREATE TABLE risk_scores (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    score                REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
    level                TEXT NOT NULL CHECK (level IN ('low', 'moderate', 'high', 'critical')),
    factors              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(factors) AND json_type(factors) = 'array'),
                         -- [{"factor": "avg_craving_7d", "value": 7.2, "points": 18.5}, ...], no PHI
    model_version        TEXT NOT NULL,
    computed_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX risk_scores_patient_idx ON risk_scores (facility_id, patient_id, computed_at);

CREATE TABLE patient_flags (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('low_mood', 'high_craving', 'reported_use', 'lapse', 'silence', 'risk')),
    source_record_type   TEXT,                                 -- e.g. 'patient_check_ins'; NULL for 'silence'
    source_record_id     TEXT,
    status               TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    raised_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    acknowledged_by      TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    acknowledged_at      TEXT,
    resolved_by          TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    resolved_at          TEXT,
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
) STRICT;
CREATE INDEX patient_flags_patient_idx ON patient_flags (facility_id, patient_id, raised_at);
CREATE INDEX patient_flags_open_idx    ON patient_flags (facility_id, status, raised_at) WHERE status <> 'resolved';
-- Re-running the threshold rules over the same record raises its flag only once.
CREATE UNIQUE INDEX patient_flags_source_idx ON patient_flags (kind, source_record_type, source_record_id)
    WHERE source_record_id IS NOT NULL;

CREATE TABLE insights (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT,                                 -- NULL = facility-level insight
    kind                 TEXT NOT NULL,                        -- code, e.g. 'weekend_craving_pattern'
    severity             TEXT NOT NULL DEFAULT 'info' CHECK (severity IN ('info', 'low', 'moderate', 'high', 'critical')),
    summary_enc          BLOB NOT NULL,
    data                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),   -- numbers and codes, no PHI
    model_version        TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    acknowledged_by      TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    acknowledged_at      TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
) STRICT;
CREATE INDEX insights_patient_idx  ON insights (facility_id, patient_id, created_at);
CREATE INDEX insights_facility_idx ON insights (facility_id, created_at);

-- Generated files (PDF) live encrypted on local disk under storage_name, like documents.
CREATE TABLE reports (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT,                                 -- NULL = facility report
    kind                 TEXT NOT NULL,                        -- code, e.g. 'patient_progress', 'facility_monthly'
    period_start         TEXT,
    period_end           TEXT,
    parameters           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),   -- no PHI
    status               TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'ready', 'failed')),
    storage_name         TEXT UNIQUE
                         CHECK (length(storage_name) BETWEEN 16 AND 128 AND storage_name NOT GLOB '*[^0-9a-z_-]*'),
    size_bytes           INTEGER CHECK (size_bytes >= 0),
    sha256               BLOB CHECK (length(sha256) = 32),
    key_version          INTEGER CHECK (key_version >= 1),
    error_code           TEXT,                                 -- why it failed; never PHI
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,   -- NULL = scheduled
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    completed_at         TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (period_end IS NULL OR period_start IS NULL OR period_end >= period_start),
    CHECK (status <> 'ready' OR storage_name IS NOT NULL)
) STRICT;
CREATE INDEX reports_facility_idx ON reports (facility_id, patient_id, created_at);


-- ===== Federation: clinic <-> central (box-wide, no facility_id) ==========

CREATE TABLE federation_peers (
    id                   TEXT PRIMARY KEY NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('central', 'clinic')),   -- what the peer is to us
    name                 TEXT NOT NULL,
    base_url             TEXT,                                 -- how to reach it (a clinic behind NAT may have none)
    public_key           BLOB CHECK (length(public_key) = 32), -- Ed25519; NULL until enrolment completes
    enrollment_status    TEXT NOT NULL DEFAULT 'pending' CHECK (enrollment_status IN ('pending', 'active', 'revoked')),
    enrollment_token_bidx BLOB UNIQUE,                         -- one-time enrolment token (central side)
    enrolled_at          TEXT,
    last_seen_at         TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK (enrollment_status <> 'active' OR public_key IS NOT NULL)
) STRICT;

CREATE TABLE federation_outbox (
    id                   TEXT PRIMARY KEY NOT NULL,
    peer_id              TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE RESTRICT,
    batch_id             TEXT NOT NULL UNIQUE,
    period_start         TEXT NOT NULL,
    period_end           TEXT NOT NULL,
    payload              TEXT NOT NULL CHECK (json_valid(payload)),   -- anonymized, small cells suppressed
    signature            BLOB NOT NULL CHECK (length(signature) = 64), -- Ed25519 over the payload bytes
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at      TEXT,
    last_error           TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    sent_at              TEXT,
    CHECK (period_end >= period_start),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
) STRICT;
CREATE INDEX federation_outbox_due_idx ON federation_outbox (status, next_attempt_at) WHERE status <> 'sent';

CREATE TABLE federation_received_metrics (
    id                   TEXT PRIMARY KEY NOT NULL,
    peer_id              TEXT NOT NULL REFERENCES federation_peers(id) ON DELETE RESTRICT,
    batch_id             TEXT NOT NULL,
    period_start         TEXT NOT NULL,
    period_end           TEXT NOT NULL,
    metrics              TEXT NOT NULL CHECK (json_valid(metrics)),
    signature            BLOB NOT NULL CHECK (length(signature) = 64),
    received_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (peer_id, batch_id),
    CHECK (period_end >= period_start)
) STRICT;
CREATE INDEX federation_received_period_idx ON federation_received_metrics (period_start, peer_id);


-- ===== Settings (box-wide or per facility) =================================

-- scope is 'box' for box-wide keys, else the facility's id (= facility_id), so the
-- primary key (scope, key) needs no NULL tricks. A facility value overrides the box's.
CREATE TABLE settings (
    scope                TEXT NOT NULL,
    key                  TEXT NOT NULL CHECK (key GLOB '[a-z]*' AND key NOT GLOB '*[^a-z0-9_.]*'),
    facility_id          TEXT REFERENCES facilities(id) ON DELETE RESTRICT,
    value                TEXT NOT NULL CHECK (json_valid(value)),
    updated_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (scope, key),
    CHECK (scope = coalesce(facility_id, 'box'))
) STRICT;


-- ===== Views (ids and numbers only, never PHI) =============================

-- Per live patient. "7d"/"30d" are rolling windows ending now; avg_craving_7d is the
-- check-ins' craving answer, cravings_7d counts logged cravings. Open flags and open
-- crisis alerts are those not yet resolved. Each lookup names the facility too, so it
-- runs on the (facility_id, patient_id, ...) indexes.
CREATE VIEW patient_dashboard_summary AS
SELECT
    p.id AS patient_id,
    p.facility_id,
    p.status,
    p.level_of_care,
    CASE WHEN p.sobriety_date IS NOT NULL
         THEN CAST(julianday(date('now')) - julianday(p.sobriety_date) AS INTEGER) END AS days_sober,
    (SELECT max(c.checked_in_at) FROM patient_check_ins c
      WHERE c.facility_id = p.facility_id AND c.patient_id = p.id AND c.deleted_at IS NULL
    ) AS last_check_in_at,
    (SELECT c.mood FROM patient_check_ins c
      WHERE c.facility_id = p.facility_id AND c.patient_id = p.id AND c.deleted_at IS NULL
      ORDER BY c.checked_in_at DESC LIMIT 1
    ) AS latest_mood,
    (SELECT round(avg(c.mood), 2) FROM patient_check_ins c
      WHERE c.facility_id = p.facility_id AND c.patient_id = p.id AND c.deleted_at IS NULL
        AND c.checked_in_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')
    ) AS avg_mood_7d,
    (SELECT round(avg(c.craving), 2) FROM patient_check_ins c
      WHERE c.facility_id = p.facility_id AND c.patient_id = p.id AND c.deleted_at IS NULL
        AND c.checked_in_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')
    ) AS avg_craving_7d,
    (SELECT count(*) FROM patient_cravings cr
      WHERE cr.facility_id = p.facility_id AND cr.patient_id = p.id AND cr.deleted_at IS NULL
        AND cr.occurred_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')
    ) AS cravings_7d,
    (SELECT count(*) FROM patient_check_ins c
      WHERE c.facility_id = p.facility_id AND c.patient_id = p.id AND c.deleted_at IS NULL
        AND c.checked_in_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')
    ) AS check_ins_7d,
    (SELECT count(*) FROM patient_goals g
      WHERE g.facility_id = p.facility_id AND g.patient_id = p.id AND g.deleted_at IS NULL
        AND g.status = 'active'
    ) AS active_goals,
    (SELECT count(*) FROM patient_goals g
      WHERE g.facility_id = p.facility_id AND g.patient_id = p.id AND g.deleted_at IS NULL
        AND g.status = 'completed'
    ) AS completed_goals,
    (SELECT count(*) FROM meeting_attendance m
      WHERE m.facility_id = p.facility_id AND m.patient_id = p.id AND m.deleted_at IS NULL
        AND m.attended_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 days')
    ) AS meetings_30d,
    (SELECT count(*) FROM patient_flags f
      WHERE f.facility_id = p.facility_id AND f.patient_id = p.id AND f.status <> 'resolved'
    ) AS open_flags,
    (SELECT count(*) FROM crisis_alerts a
      WHERE a.facility_id = p.facility_id AND a.patient_id = p.id AND a.status <> 'resolved'
    ) AS open_crisis_alerts,
    (SELECT r.score FROM risk_scores r
      WHERE r.facility_id = p.facility_id AND r.patient_id = p.id
      ORDER BY r.computed_at DESC LIMIT 1
    ) AS latest_risk_score,
    (SELECT r.level FROM risk_scores r
      WHERE r.facility_id = p.facility_id AND r.patient_id = p.id
      ORDER BY r.computed_at DESC LIMIT 1
    ) AS latest_risk_level
FROM patients p
WHERE p.deleted_at IS NULL;

-- Per active staff member. The caseload is their current care-team assignments
-- (started, not ended) of live, active patients; unread messages are other people's
-- messages after last_read_message_at in conversations they have not left.
CREATE VIEW staff_workload AS
WITH caseload AS (
    SELECT DISTINCT cta.facility_id, cta.staff_id, cta.patient_id
    FROM care_team_assignments cta
    JOIN patients p ON p.facility_id = cta.facility_id AND p.id = cta.patient_id
    WHERE cta.starts_on <= date('now')
      AND (cta.ends_on IS NULL OR cta.ends_on >= date('now'))
      AND p.deleted_at IS NULL
      AND p.status = 'active'
)
SELECT
    s.id AS staff_id,
    s.facility_id,
    s.role,
    (SELECT count(*) FROM caseload cl WHERE cl.staff_id = s.id
    ) AS active_patients,
    (SELECT count(*) FROM caseload cl
       JOIN crisis_alerts a ON a.facility_id = cl.facility_id AND a.patient_id = cl.patient_id
      WHERE cl.staff_id = s.id AND a.status <> 'resolved'
    ) AS open_crisis_alerts,
    (SELECT count(*) FROM caseload cl
       JOIN patient_flags f ON f.facility_id = cl.facility_id AND f.patient_id = cl.patient_id
      WHERE cl.staff_id = s.id AND f.status <> 'resolved'
    ) AS open_flags,
    (SELECT count(*) FROM conversation_participants cp
       JOIN messages m ON m.facility_id = cp.facility_id AND m.conversation_id = cp.conversation_id
      WHERE cp.staff_id = s.id AND cp.left_at IS NULL
        AND m.deleted_at IS NULL
        AND m.sender_staff_id IS NOT s.id
        AND m.created_at > coalesce(cp.last_read_message_at, '')
    ) AS unread_messages
FROM staff s
WHERE s.is_active = 1;

-- Per facility per ISO week (week_start = that week's Monday). Check-ins count by the
-- patient's local_date; everything else by its UTC date. lapses = reports of use
-- (check-ins with used_since_last plus cravings acted on); active_patients = patients
-- with any check-in, craving or meeting that week. Soft-deleted rows and patients are
-- left out. Only weeks with at least one event appear.
CREATE VIEW facility_weekly_metrics AS
WITH events AS (
    SELECT facility_id, patient_id, date(local_date, 'weekday 0', '-6 days') AS week_start,
           1 AS check_in, mood, craving, 0 AS craving_log, used_since_last AS lapse,
           0 AS admission, 0 AS discharge, 0 AS meeting
    FROM patient_check_ins WHERE deleted_at IS NULL
    UNION ALL
    SELECT facility_id, patient_id, date(occurred_at, 'weekday 0', '-6 days'),
           0, NULL, NULL, 1, acted_on, 0, 0, 0
    FROM patient_cravings WHERE deleted_at IS NULL
    UNION ALL
    SELECT facility_id, patient_id, date(attended_at, 'weekday 0', '-6 days'),
           0, NULL, NULL, 0, 0, 0, 0, 1
    FROM meeting_attendance WHERE deleted_at IS NULL
    UNION ALL
    SELECT facility_id, patient_id, date(admitted_at, 'weekday 0', '-6 days'),
           0, NULL, NULL, 0, 0, 1, 0, 0
    FROM admissions WHERE deleted_at IS NULL
    UNION ALL
    SELECT facility_id, patient_id, date(discharged_at, 'weekday 0', '-6 days'),
           0, NULL, NULL, 0, 0, 0, 1, 0
    FROM admissions WHERE deleted_at IS NULL AND discharged_at IS NOT NULL
)
SELECT
    e.facility_id,
    e.week_start,
    sum(e.check_in)                AS check_ins,
    round(avg(e.mood), 2)          AS avg_mood,
    round(avg(e.craving), 2)       AS avg_craving,
    sum(e.craving_log)             AS cravings,
    sum(e.lapse)                   AS lapses,
    sum(e.admission)               AS new_admissions,
    sum(e.discharge)               AS discharges,
    sum(e.meeting)                 AS meetings_attended,
    count(DISTINCT CASE WHEN e.check_in + e.craving_log + e.meeting > 0 THEN e.patient_id END) AS active_patients
FROM events e
JOIN patients p ON p.id = e.patient_id AND p.deleted_at IS NULL
GROUP BY e.facility_id, e.week_start;
