-- Speed limits settable live from any process: a global one in settings,
-- and one per job (bytes per second; NULL = no limit of its own).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE jobs ADD COLUMN max_speed INTEGER CHECK (max_speed IS NULL OR max_speed >= 0);
