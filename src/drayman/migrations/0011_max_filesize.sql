-- A size cap: a job whose file is larger fails, its partial file removed.
-- Per job (drayman add --max-filesize SIZE) and per rule (rules add ...
-- --max-filesize SIZE), in bytes; NULL: none (run --max-filesize still applies).
ALTER TABLE jobs ADD COLUMN max_filesize INTEGER CHECK (max_filesize IS NULL OR max_filesize >= 1);
ALTER TABLE rules ADD COLUMN max_filesize INTEGER CHECK (max_filesize IS NULL OR max_filesize >= 1);
