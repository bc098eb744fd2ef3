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
