-- TLS certificate checks skipped by an explicit choice of the user, never by
-- default: per job (drayman add --insecure; covers the job URL's host only)
-- and per rule (drayman rules add --insecure; covers the hosts it matches).
ALTER TABLE jobs ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1));
ALTER TABLE rules ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1));
