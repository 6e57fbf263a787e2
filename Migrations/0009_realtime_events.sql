-- The durable feed of realtime events. Each change that someone should see at
-- once (a message, a crisis alert and each of its steps, an announcement, a
-- check-in, a craving, a flag) appends one row in the same transaction as the
-- change, so an event exists exactly when its change committed. The seq is the
-- event's id: a socket resumes after a reconnect with "since seq N", and the
-- server reads the feed, not memory. Rows carry ids and codes only, never PHI;
-- what a recipient sees is read from the record, through the access policy,
-- when the event is delivered. Rows older than the resume window are pruned.
CREATE TABLE realtime_events (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    kind                 TEXT NOT NULL,                        -- the event's name, e.g. 'message:new'
    patient_id           TEXT,                                 -- the patient it is about, if any
    subject_id           TEXT NOT NULL,                        -- the record: message, alert, announcement, check-in...
    data                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),   -- ids and codes only
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX realtime_events_facility_idx ON realtime_events (facility_id, seq);
CREATE INDEX realtime_events_time_idx ON realtime_events (created_at);
