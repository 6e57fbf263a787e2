-- Messaging: conversations, their participants, messages and message templates.
-- The 0001 tables were never written by any code, so they are rebuilt to fit
-- the feature (child tables dropped first, the view that reads them recreated):
--
-- * three kinds of conversation: 'care' (a patient and staff of their care team;
--   patient_id set, composite reference), 'staff' (staff only) and 'group' (a
--   therapy group: staff, and patients who appear to each other under an alias);
-- * a per-conversation sequence number on messages (conversations.last_seq is
--   the newest): ordering, cursors and read markers use it, never timestamps;
-- * a participant's read marker is the seq of the last message they read
--   (last_read_seq), so unread = others' live messages with a larger seq. Per-
--   message read receipts (message_reads) are gone: a receipt is "seq <= the
--   reader's marker";
-- * client_message_id is the sender's idempotency key, unique per sender;
-- * every child row references its conversation by (facility_id, id), so a
--   message or participant cannot sit in another facility's conversation.
-- The title stays in subject_enc (PHIField 33); a group patient's alias is
-- alias_enc (PHIField 48).

DROP VIEW staff_workload;
DROP TABLE message_reads;
DROP TABLE messages;
DROP TABLE conversation_participants;
DROP TABLE conversations;

CREATE TABLE conversations (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    kind                 TEXT NOT NULL CHECK (kind IN ('care', 'staff', 'group')),
    patient_id           TEXT,                                 -- the patient of a care conversation
    subject_enc          BLOB,                                 -- the title
    created_by_kind      TEXT NOT NULL CHECK (created_by_kind IN ('staff', 'patient')),
    created_by_staff_id  TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_by_patient_id TEXT,
    last_seq             INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),   -- seq of the newest message
    last_message_at      TEXT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (facility_id, created_by_patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((kind = 'care') = (patient_id IS NOT NULL)),
    CHECK ((created_by_kind = 'staff'   AND created_by_staff_id IS NOT NULL AND created_by_patient_id IS NULL)
        OR (created_by_kind = 'patient' AND created_by_patient_id IS NOT NULL AND created_by_staff_id IS NULL)),
    CHECK (created_by_kind = 'staff' OR kind = 'care'),
    UNIQUE (facility_id, id)
) STRICT;
CREATE INDEX conversations_facility_idx ON conversations (facility_id, last_message_at);
CREATE INDEX conversations_patient_idx  ON conversations (facility_id, patient_id) WHERE patient_id IS NOT NULL;

-- One row per person and conversation; leaving sets left_at (rejoining clears it).
CREATE TABLE conversation_participants (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    conversation_id      TEXT NOT NULL,
    participant_kind     TEXT NOT NULL CHECK (participant_kind IN ('staff', 'patient')),
    staff_id             TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    patient_id           TEXT,
    alias_enc            BLOB,                                 -- a group patient's alias, shown to the other patients
    joined_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    left_at              TEXT,
    last_read_seq        INTEGER NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),   -- seq of the last message read
    last_read_at         TEXT,
    FOREIGN KEY (facility_id, conversation_id) REFERENCES conversations (facility_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((participant_kind = 'staff'   AND staff_id IS NOT NULL AND patient_id IS NULL AND alias_enc IS NULL)
        OR (participant_kind = 'patient' AND patient_id IS NOT NULL AND staff_id IS NULL)),
    UNIQUE (conversation_id, staff_id),
    UNIQUE (conversation_id, patient_id)
) STRICT;
-- Per-staff lookup (a staff id is unique per box; a super admin has no facility).
CREATE INDEX conversation_participants_staff_idx   ON conversation_participants (staff_id, conversation_id) WHERE staff_id IS NOT NULL;
CREATE INDEX conversation_participants_patient_idx ON conversation_participants (facility_id, patient_id, conversation_id) WHERE patient_id IS NOT NULL;

CREATE TABLE messages (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    conversation_id      TEXT NOT NULL,
    seq                  INTEGER NOT NULL CHECK (seq > 0),     -- 1, 2, 3... within the conversation
    sender_kind          TEXT NOT NULL CHECK (sender_kind IN ('staff', 'patient')),
    sender_staff_id      TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    sender_patient_id    TEXT,
    body_enc             BLOB NOT NULL,
    client_message_id    TEXT CHECK (client_message_id IS NULL OR length(client_message_id) BETWEEN 1 AND 100),
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    edited_at            TEXT,
    deleted_at           TEXT,
    FOREIGN KEY (facility_id, conversation_id) REFERENCES conversations (facility_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (facility_id, sender_patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT,
    CHECK ((sender_kind = 'staff'   AND sender_staff_id IS NOT NULL AND sender_patient_id IS NULL)
        OR (sender_kind = 'patient' AND sender_patient_id IS NOT NULL AND sender_staff_id IS NULL)),
    UNIQUE (facility_id, conversation_id, seq),
    UNIQUE (sender_staff_id, client_message_id),
    UNIQUE (sender_patient_id, client_message_id)
) STRICT;

-- A facility's canned replies. Not PHI (no patient in them): title and body plain.
-- An edit bumps version; a delete is soft.
CREATE TABLE message_templates (
    id                   TEXT PRIMARY KEY NOT NULL,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    title                TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body                 TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    version              INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    updated_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_at           TEXT
) STRICT;
CREATE INDEX message_templates_facility_idx ON message_templates (facility_id, deleted_at, title);

-- As in 0001, with unread messages counted by the read marker: other people's
-- live messages after last_read_seq in conversations the staff member has not left.
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
        AND m.seq > cp.last_read_seq
    ) AS unread_messages
FROM staff s
WHERE s.is_active = 1;
