-- Consent to disclose under 42 CFR Part 2 (2.31) and the accounting of
-- disclosures (2.24). The 0001 consents table was never written by any code,
-- so it is rebuilt:
--
-- * a consent names the patient, the discloser (the program, as on the form),
--   what may be disclosed (information_scope: a JSON array of codes, and
--   information_detail_enc, PHIField 51, the form's own words), the recipient
--   (recipient_enc, PHIField 42), the purpose (a code), the expiry (a time, or
--   an event or condition in expiry_condition_enc, PHIField 43), the signature
--   (who signed: the patient or their representative, signature_enc, PHIField
--   44, the signer's name as signed, and the date signed_on), and revocation
--   (revoked_at, recorded by staff);
-- * disclosures: every release made under a consent, with a copy of the
--   recipient as it was then (recipient_enc, PHIField 53) and a description
--   (description_enc, PHIField 52); a released document is named by document_id.

DROP TABLE consents;

CREATE TABLE consents (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    discloser            TEXT NOT NULL,                        -- the Part 2 program making the disclosure
    recipient_enc        BLOB NOT NULL,
    purpose              TEXT NOT NULL,                        -- code, e.g. 'treatment', 'payment', 'legal'
    information_scope    TEXT NOT NULL CHECK (json_valid(information_scope) AND json_type(information_scope) = 'array'),
    information_detail_enc BLOB,
    granted_at           TEXT NOT NULL,
    expires_at           TEXT,
    expiry_condition_enc BLOB,                                 -- an event or condition instead of a date
    signed_by            TEXT NOT NULL CHECK (signed_by IN ('patient', 'guardian', 'personal_representative')),
    signature_enc        BLOB NOT NULL,
    signed_on            TEXT NOT NULL,
    revoked_at           TEXT,
    revocation_recorded_by TEXT REFERENCES staff(id) ON DELETE RESTRICT,
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

CREATE TABLE disclosures (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    consent_id           TEXT NOT NULL REFERENCES consents(id) ON DELETE RESTRICT,
    kind                 TEXT NOT NULL CHECK (kind IN ('document', 'report', 'records', 'verbal', 'other')),
    document_id          TEXT REFERENCES documents(id) ON DELETE RESTRICT,
    description_enc      BLOB,
    recipient_enc        BLOB NOT NULL,
    disclosed_by         TEXT NOT NULL REFERENCES staff(id) ON DELETE RESTRICT,
    disclosed_at         TEXT NOT NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK (kind != 'document' OR document_id IS NOT NULL)
) STRICT;
CREATE INDEX disclosures_patient_idx ON disclosures (facility_id, patient_id, disclosed_at);

-- The accounting is a record of what was released: it is never changed or removed.
CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
BEGIN
    SELECT RAISE(ABORT, 'disclosures are append-only');
END;
CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures
BEGIN
    SELECT RAISE(ABORT, 'disclosures are append-only');
END;
