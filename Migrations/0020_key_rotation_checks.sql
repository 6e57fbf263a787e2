-- Master-key rotation, checked from both sides: the running server reports
-- the key versions it holds (so `keys rotate` can wait for it), and signed
-- treatment plans and disclosures accept only a true re-encryption.

-- What the running server (`serve`) has loaded, written by its once-a-second
-- key reload: at once when its key ring changes or a reload fails, else every
-- few seconds (`heartbeat_at`). A fresh heartbeat means a server is running on
-- this database; a stale one (or no row: a server that stopped cleanly
-- removes it) means none is. `reload_failure` says why the last reload failed
-- (which key file it could not use; never a key), NULL when it worked.
CREATE TABLE server_key_ring (
    id                   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    process_id           INTEGER NOT NULL,
    current_version      INTEGER NOT NULL CHECK (current_version >= 1),
    retiring_version     INTEGER,
    reload_failure       TEXT,
    reload_failed_at     TEXT,
    started_at           TEXT NOT NULL,
    heartbeat_at         TEXT NOT NULL,
    CHECK ((reload_failure IS NULL) = (reload_failed_at IS NULL))
) STRICT;

-- A signed treatment plan version and a disclosure never change; while a
-- rotation is unfinished one may be re-encrypted: each encrypted column
-- either stays as it is or moves to the rotation's new key version (byte 1
-- of a value is its format, 0x01, bytes 2-5 its key version, big-endian;
-- see FieldCipher). A new value under the same version, a value taken away
-- or added, and any other column's change are refused (every comparison is
-- NULL-safe, so a NULL cannot slip past the check).
DROP TRIGGER treatment_plans_signed_no_update;
CREATE TRIGGER treatment_plans_signed_no_update BEFORE UPDATE ON treatment_plans
WHEN OLD.signed_at IS NOT NULL AND NOT (
    EXISTS (SELECT 1 FROM key_rotation WHERE phase <> 'finished')
    AND NEW.id IS OLD.id AND NEW.facility_id IS OLD.facility_id AND NEW.patient_id IS OLD.patient_id
    AND NEW.template_id IS OLD.template_id AND NEW.previous_version_id IS OLD.previous_version_id
    AND NEW.version IS OLD.version AND NEW.status IS OLD.status AND NEW.start_date IS OLD.start_date
    AND NEW.review_date IS OLD.review_date AND NEW.created_by IS OLD.created_by AND NEW.signed_by IS OLD.signed_by
    AND NEW.signed_at IS OLD.signed_at AND NEW.created_at IS OLD.created_at AND NEW.updated_at IS OLD.updated_at
    AND NEW.deleted_at IS OLD.deleted_at AND NEW.plan_id IS OLD.plan_id AND NEW.template_version IS OLD.template_version
    AND (NEW.title_enc IS OLD.title_enc OR (
        substr(NEW.title_enc, 1, 1) IS X'01'
        AND hex(substr(NEW.title_enc, 2, 4)) IS (SELECT printf('%08X', to_version) FROM key_rotation WHERE phase <> 'finished')
        AND hex(substr(OLD.title_enc, 2, 4)) IS NOT hex(substr(NEW.title_enc, 2, 4))))
    AND (NEW.content_enc IS OLD.content_enc OR (
        OLD.content_enc IS NOT NULL AND NEW.content_enc IS NOT NULL AND substr(NEW.content_enc, 1, 1) IS X'01'
        AND hex(substr(NEW.content_enc, 2, 4)) IS (SELECT printf('%08X', to_version) FROM key_rotation WHERE phase <> 'finished')
        AND hex(substr(OLD.content_enc, 2, 4)) IS NOT hex(substr(NEW.content_enc, 2, 4)))))
BEGIN
    SELECT RAISE(ABORT, 'a signed treatment plan version is immutable');
END;

DROP TRIGGER disclosures_no_update;
CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
WHEN NOT (
    EXISTS (SELECT 1 FROM key_rotation WHERE phase <> 'finished')
    AND NEW.id IS OLD.id AND NEW.facility_id IS OLD.facility_id AND NEW.patient_id IS OLD.patient_id
    AND NEW.consent_id IS OLD.consent_id AND NEW.kind IS OLD.kind AND NEW.document_id IS OLD.document_id
    AND NEW.disclosed_by IS OLD.disclosed_by AND NEW.disclosed_at IS OLD.disclosed_at AND NEW.created_at IS OLD.created_at
    AND (NEW.description_enc IS OLD.description_enc OR (
        OLD.description_enc IS NOT NULL AND NEW.description_enc IS NOT NULL AND substr(NEW.description_enc, 1, 1) IS X'01'
        AND hex(substr(NEW.description_enc, 2, 4)) IS (SELECT printf('%08X', to_version) FROM key_rotation WHERE phase <> 'finished')
        AND hex(substr(OLD.description_enc, 2, 4)) IS NOT hex(substr(NEW.description_enc, 2, 4))))
    AND (NEW.recipient_enc IS OLD.recipient_enc OR (
        substr(NEW.recipient_enc, 1, 1) IS X'01'
        AND hex(substr(NEW.recipient_enc, 2, 4)) IS (SELECT printf('%08X', to_version) FROM key_rotation WHERE phase <> 'finished')
        AND hex(substr(OLD.recipient_enc, 2, 4)) IS NOT hex(substr(NEW.recipient_enc, 2, 4)))))
BEGIN
    SELECT RAISE(ABORT, 'disclosures are append-only');
END;
