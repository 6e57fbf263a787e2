-- Treatment plans from templates, signed and versioned.
--
-- Templates (facility or global) are versioned: treatment_plan_templates keeps
-- the current version, and every version's name, description and content (the
-- structure problems -> goals -> objectives -> interventions, no PHI) is kept
-- in treatment_plan_template_versions.
--
-- A plan is a chain of rows of treatment_plans, one per version: plan_id is
-- the id of version 1 (every version has it, version 1 its own id), and
-- (plan_id, version) is unique. A signed row (signed_at set) is immutable: a
-- trigger refuses any UPDATE or DELETE of it, so editing a signed plan makes
-- the next version as a draft. The patient's acknowledgement of a signed
-- version is a row of its own (treatment_plan_acknowledgements), so it does
-- not touch the signed row. Title and content stay PHIField 26 and 27.

ALTER TABLE treatment_plan_templates ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);

CREATE TABLE treatment_plan_template_versions (
    template_id          TEXT NOT NULL REFERENCES treatment_plan_templates(id) ON DELETE RESTRICT,
    version              INTEGER NOT NULL CHECK (version >= 1),
    name                 TEXT NOT NULL,
    description          TEXT,
    content              TEXT NOT NULL CHECK (json_valid(content)),
    created_by           TEXT REFERENCES staff(id) ON DELETE RESTRICT,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (template_id, version)
) STRICT;

ALTER TABLE treatment_plans ADD COLUMN plan_id TEXT REFERENCES treatment_plans(id) ON DELETE RESTRICT;
ALTER TABLE treatment_plans ADD COLUMN template_version INTEGER;
CREATE UNIQUE INDEX treatment_plans_version_idx ON treatment_plans (plan_id, version);

CREATE TRIGGER treatment_plans_signed_no_update BEFORE UPDATE ON treatment_plans
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a signed treatment plan version is immutable');
END;

CREATE TRIGGER treatment_plans_signed_no_delete BEFORE DELETE ON treatment_plans
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a signed treatment plan version is immutable');
END;

CREATE TABLE treatment_plan_acknowledgements (
    plan_version_id      TEXT PRIMARY KEY NOT NULL REFERENCES treatment_plans(id) ON DELETE RESTRICT,
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    patient_id           TEXT NOT NULL,
    acknowledged_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    FOREIGN KEY (facility_id, patient_id) REFERENCES patients (facility_id, id) ON DELETE RESTRICT
) STRICT;
