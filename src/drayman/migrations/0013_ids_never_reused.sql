-- Ids are never reused: after `rm 3`, the next job is not 3 again, so a later
-- `rm 3 --delete-files` meant for the old job cannot delete the new one's
-- file. The highest id ever given, per table; adds take the next one above
-- both it and what is in the table. (Ids freed before this migration ran
-- cannot be known: the count starts from what is there now.)
CREATE TABLE id_high_water (
    name TEXT PRIMARY KEY,
    high INTEGER NOT NULL CHECK (high >= 0)
);
INSERT INTO id_high_water (name, high) SELECT 'jobs', coalesce(max(id), 0) FROM jobs;
INSERT INTO id_high_water (name, high) SELECT 'rules', coalesce(max(id), 0) FROM rules;
