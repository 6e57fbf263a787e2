-- Federation: per-day snapshots of the current week next to the weekly ones.
-- A Monday starts both its week and its own day, so every table that keys a
-- period by its first day also keys it by granularity ('week' or 'day').
-- Existing rows are weeks.

ALTER TABLE federation_outbox ADD COLUMN granularity TEXT NOT NULL DEFAULT 'week' CHECK (granularity IN ('week', 'day'));
DROP INDEX federation_outbox_period_idx;
CREATE INDEX federation_outbox_period_idx ON federation_outbox (peer_id, granularity, period_start, sequence);

ALTER TABLE federation_receipts ADD COLUMN granularity TEXT NOT NULL DEFAULT 'week' CHECK (granularity IN ('week', 'day'));

-- Central: the latest snapshot of each facility's week or day, one row per metric.
CREATE TABLE federation_metric_cells_new (
    facility_id          TEXT NOT NULL REFERENCES federation_facilities(id) ON DELETE RESTRICT,
    granularity          TEXT NOT NULL DEFAULT 'week' CHECK (granularity IN ('week', 'day')),
    period_start         TEXT NOT NULL,                        -- the ISO week's Monday, or the day
    period               TEXT NOT NULL,                        -- e.g. 2026-W48, or 2026-11-30
    metric               TEXT NOT NULL,
    value                ANY,
    suppressed           INTEGER NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1)),
    sequence             INTEGER NOT NULL CHECK (sequence > 0),
    schema_version       INTEGER NOT NULL,
    received_at          TEXT NOT NULL,
    PRIMARY KEY (facility_id, granularity, period_start, metric),
    CHECK (suppressed = 0 OR value IS NULL)
) STRICT;
INSERT INTO federation_metric_cells_new (facility_id, granularity, period_start, period, metric, value, suppressed, sequence, schema_version, received_at)
SELECT facility_id, 'week', period_start, period, metric, value, suppressed, sequence, schema_version, received_at FROM federation_metric_cells;
DROP TABLE federation_metric_cells;
ALTER TABLE federation_metric_cells_new RENAME TO federation_metric_cells;
CREATE INDEX federation_metric_cells_metric_idx ON federation_metric_cells (metric, granularity, period_start);

-- The noise ledger, per count cell of a facility's week or day.
CREATE TABLE federation_privacy_ledger_new (
    facility_id          TEXT NOT NULL REFERENCES facilities(id) ON DELETE RESTRICT,
    granularity          TEXT NOT NULL DEFAULT 'week' CHECK (granularity IN ('week', 'day')),
    period_start         TEXT NOT NULL,                        -- the ISO week's Monday, or the day
    metric               TEXT NOT NULL,
    exact_value          INTEGER NOT NULL CHECK (exact_value > 0),
    sent_value           INTEGER NOT NULL CHECK (sent_value > 10),
    draws                INTEGER NOT NULL CHECK (draws > 0),
    epsilon_spent        REAL NOT NULL CHECK (epsilon_spent > 0),
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (facility_id, granularity, period_start, metric)
) STRICT;
INSERT INTO federation_privacy_ledger_new (facility_id, granularity, period_start, metric, exact_value, sent_value, draws, epsilon_spent, updated_at)
SELECT facility_id, 'week', period_start, metric, exact_value, sent_value, draws, epsilon_spent, updated_at FROM federation_privacy_ledger;
DROP TABLE federation_privacy_ledger;
ALTER TABLE federation_privacy_ledger_new RENAME TO federation_privacy_ledger;
