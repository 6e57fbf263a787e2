-- Crisis alerts and announcements (the tables of 0001 get what the code needs).

-- Crisis alerts: the SOS message and location the patient sent (PHI,
-- encrypted per field, PHIField 49 and 50), and when the next escalation is
-- due. Timers live here, not in memory, so a restart loses none: the server
-- escalates every alert whose escalate_at has passed. NULL once acknowledged,
-- resolved, or at the last level (2). Box-wide index (the escalation job looks
-- at every facility), like token lookups.
ALTER TABLE crisis_alerts ADD COLUMN message_enc BLOB;
ALTER TABLE crisis_alerts ADD COLUMN location_enc BLOB;
ALTER TABLE crisis_alerts ADD COLUMN escalate_at TEXT;
CREATE INDEX crisis_alerts_escalate_idx ON crisis_alerts (escalate_at) WHERE escalate_at IS NOT NULL;

-- Announcements. published_at is when it becomes visible (now, or a time
-- chosen in advance); announced_at is when `announcement:new` went to the
-- feed (at publish time; NULL while a scheduled one waits). retracted_at ends
-- it for every reader (kept, never deleted). edited_at marks the last edit.
-- targeted = 1: only the recipients listed in announcement_recipients (within
-- the audience) see it; 0: everyone of the audience in the facility.
ALTER TABLE announcements ADD COLUMN announced_at TEXT;
ALTER TABLE announcements ADD COLUMN retracted_at TEXT;
ALTER TABLE announcements ADD COLUMN retracted_by TEXT REFERENCES staff(id) ON DELETE RESTRICT;
ALTER TABLE announcements ADD COLUMN edited_at TEXT;
ALTER TABLE announcements ADD COLUMN targeted INTEGER NOT NULL DEFAULT 0 CHECK (targeted IN (0, 1));
CREATE INDEX announcements_due_idx ON announcements (published_at) WHERE announced_at IS NULL AND published_at IS NOT NULL;

-- The group an announcement targets: named staff members and patients of its facility.
CREATE TABLE announcement_recipients (
    announcement_id      TEXT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    recipient_kind       TEXT NOT NULL CHECK (recipient_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((recipient_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL)
        OR (recipient_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    UNIQUE (announcement_id, staff_id),
    UNIQUE (announcement_id, patient_id)
) STRICT;
CREATE INDEX announcement_recipients_staff_idx   ON announcement_recipients (staff_id) WHERE staff_id IS NOT NULL;
CREATE INDEX announcement_recipients_patient_idx ON announcement_recipients (facility_id, patient_id) WHERE patient_id IS NOT NULL;
