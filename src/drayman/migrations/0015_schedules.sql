-- Schedules: weekly bands of local time that pause the queue or limit its
-- speed (drayman schedule add 'mon-fri 09:00-18:00' --limit 500k); the
-- engine's reconciler enforces them. days: bit 0 = Monday; minutes after
-- local midnight, an end at or before the start being the next day's.
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY,
    days         INTEGER NOT NULL CHECK (days BETWEEN 1 AND 127),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    -- bytes per second; NULL: the band pauses the queue
    max_speed    INTEGER CHECK (max_speed IS NULL OR max_speed >= 1),
    created_at   REAL    NOT NULL
);
-- A job that goes on whatever the schedule says (drayman add --ignore-schedule).
ALTER TABLE jobs ADD COLUMN ignore_schedule INTEGER NOT NULL DEFAULT 0 CHECK (ignore_schedule IN (0, 1));
