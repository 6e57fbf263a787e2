-- The demographics a patient list shows (first and last name, date of birth,
-- email, phone) sealed together in one ciphertext per patient, beside the
-- per-field columns that remain the record. A page of fifty patients opened
-- 250 ciphertexts, and at this size each XChaCha20-Poly1305 opening costs
-- the same whatever the length: it was most of a list's time. With the card
-- a page opens fifty.
--
-- The card is derived: the app writes it with the patient and after every
-- change to those fields (PatientCard). A change to any of them that does not
-- write the card in the same statement clears it (trigger below), and a
-- patient without a card is read field by field, so a card is never stale.
-- Patients created before this migration get theirs from the server's
-- upkeep shortly after it starts.
ALTER TABLE patients ADD COLUMN list_card_enc BLOB;

CREATE TRIGGER patients_list_card_stale
AFTER UPDATE OF first_name_enc, last_name_enc, date_of_birth_enc, email_enc, phone_enc ON patients
WHEN NEW.list_card_enc IS OLD.list_card_enc AND NEW.list_card_enc IS NOT NULL
BEGIN
    UPDATE patients SET list_card_enc = NULL WHERE id = NEW.id;
END;
