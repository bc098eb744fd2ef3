-- Segmented downloads: one row per piece of a file fetched over its own
-- connection. The rows of a job tile [0, bytes_total) and [start, durable)
-- of each is fsynced into the .part; jobs.bytes_done is the sum of those.
-- A job without rows is a single stream: its bytes_done is a prefix.
CREATE TABLE segments (
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    start   INTEGER NOT NULL CHECK (start >= 0),
    stop    INTEGER NOT NULL CHECK (stop > start),
    durable INTEGER NOT NULL CHECK (durable >= start AND durable <= stop),
    PRIMARY KEY (job_id, start)
) WITHOUT ROWID;

-- New validators or a new size from the server (record_remote) start a
-- single stream again, and a done job needs no segments: the database drops
-- them in the same statement, so no code path can leave segments that
-- describe another version of the file, and no transfer pays a round trip.
CREATE TRIGGER segments_dropped_by_new_remote
AFTER UPDATE OF etag, last_modified, bytes_total ON jobs
BEGIN
    DELETE FROM segments WHERE job_id = new.id;
END;

CREATE TRIGGER segments_dropped_when_done
AFTER UPDATE OF state ON jobs WHEN new.state = 'done'
BEGIN
    DELETE FROM segments WHERE job_id = new.id;
END;
