-- Batch imports describe media: a title, an author and a thumbnail per entry.
-- name_template names the file when the server's answer is known, so {ext}
-- can come from Content-Disposition or Content-Type (see drayman.templates).
ALTER TABLE jobs ADD COLUMN title TEXT;
ALTER TABLE jobs ADD COLUMN author TEXT;
ALTER TABLE jobs ADD COLUMN thumbnail_url TEXT;
ALTER TABLE jobs ADD COLUMN name_template TEXT;
