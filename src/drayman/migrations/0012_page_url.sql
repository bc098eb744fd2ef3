-- The page a job's media URL was resolved from (drayman add --resolve, the
-- import window's page field): when a signed media link expires (403, 410)
-- the engine resolves the page again for a fresh link. NULL for plain URLs.
ALTER TABLE jobs ADD COLUMN page_url TEXT;
