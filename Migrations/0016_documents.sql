-- Documents: the 0001 table is used as it is, with two columns added.
--
-- * The file lives encrypted under <data-dir>/documents/<storage_name>
--   (libsodium secretstream, chunks of 64 KiB); storage_name is random and
--   tells nothing. Each file has its own sub-key, derived from the master key
--   (purpose "RAdocmnt") with key_id, a random 64-bit number kept here.
-- * From this migration on, sha256 is the hash of the plain bytes (checked on
--   every download), size_bytes their count, content_type what the server
--   sniffed from the bytes (application/pdf, image/png, image/jpeg,
--   text/plain), category the document's type (treatment_plan, assessment,
--   consent, lab_result, discharge_summary, other; checked by the code), and
--   title_enc (PHIField 40) / filename_enc (PHIField 41) the title and the
--   name the file was uploaded under.
-- * Soft delete: deleted_at and deleted_by; the file stays.

ALTER TABLE documents ADD COLUMN key_id INTEGER;
ALTER TABLE documents ADD COLUMN deleted_by TEXT REFERENCES staff(id) ON DELETE RESTRICT;
CREATE INDEX documents_patient_visible_idx ON documents (facility_id, patient_id, created_at) WHERE patient_visible = 1 AND deleted_at IS NULL;
