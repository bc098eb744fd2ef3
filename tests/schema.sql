-- user_version 16
-- index jobs_by_host
CREATE INDEX jobs_by_host ON jobs (state, host);
-- index jobs_by_state
CREATE INDEX jobs_by_state ON jobs (state, priority DESC, position, id);
-- index jobs_retry_due
CREATE INDEX jobs_retry_due ON jobs (next_attempt_at)
    WHERE state = 'queued' AND next_attempt_at IS NOT NULL;
-- index jobs_target
CREATE UNIQUE INDEX jobs_target ON jobs (dest_dir, file_key) WHERE file_key IS NOT NULL;
-- table id_high_water
CREATE TABLE id_high_water (
    name TEXT PRIMARY KEY,
    high INTEGER NOT NULL CHECK (high >= 0)
);
-- table job_cookies
CREATE TABLE job_cookies (
    job_id  INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    cookies TEXT    NOT NULL
);
-- table jobs
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    -- what requests start from; original_url is what the user added and never
    -- changes, url may be replaced with a fresh link when one expires
    url             TEXT    NOT NULL,
    original_url    TEXT    NOT NULL,
    -- where the last response came from after redirects (informational)
    effective_url   TEXT,
    -- lowercased host of url, for the per-host concurrency limit
    host            TEXT    NOT NULL,
    dest_dir        TEXT    NOT NULL,
    requested_name  TEXT,
    -- fixed once, before the first byte is written; never changes afterwards
    file_name       TEXT,
    -- casefolded file_name: names clash on case-insensitive file systems
    file_key        TEXT,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed')),
    -- durable offset: never more than the bytes fsynced into the .part file
    bytes_done      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
    bytes_total     INTEGER CHECK (bytes_total IS NULL OR bytes_total >= 0),
    etag            TEXT,
    last_modified   TEXT,
    -- JSON array of [name, value] pairs
    headers         TEXT    NOT NULL DEFAULT '[]',
    sha256          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    error           TEXT,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    finished_at     REAL,
    priority        INTEGER NOT NULL DEFAULT 0,
    position        INTEGER NOT NULL DEFAULT 0
, title TEXT, author TEXT, thumbnail_url TEXT, name_template TEXT, max_speed INTEGER CHECK (max_speed IS NULL OR max_speed >= 0), insecure INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1)), base_dir TEXT, part_identity TEXT, part_tail TEXT, proxy TEXT, max_filesize INTEGER CHECK (max_filesize IS NULL OR max_filesize >= 1), page_url TEXT, sort_by_type INTEGER NOT NULL DEFAULT 0 CHECK (sort_by_type IN (0, 1)), ignore_schedule INTEGER NOT NULL DEFAULT 0 CHECK (ignore_schedule IN (0, 1)), split INTEGER CHECK (split IS NULL OR split >= 1));
-- table rules
CREATE TABLE rules (
    id              INTEGER PRIMARY KEY,
    pattern         TEXT    NOT NULL UNIQUE,
    -- JSON array of [name, value] pairs; sent only to matching hosts
    headers         TEXT    NOT NULL DEFAULT '[]',
    dest_dir        TEXT,
    template        TEXT,
    max_connections INTEGER CHECK (max_connections IS NULL OR max_connections >= 1),
    created_at      REAL    NOT NULL
, insecure INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1)), proxy TEXT, max_filesize INTEGER CHECK (max_filesize IS NULL OR max_filesize >= 1));
-- table schedules
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY,
    days         INTEGER NOT NULL CHECK (days BETWEEN 1 AND 127),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    -- bytes per second; NULL: the band pauses the queue
    max_speed    INTEGER CHECK (max_speed IS NULL OR max_speed >= 1),
    created_at   REAL    NOT NULL
);
-- table segments
CREATE TABLE segments (
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    start   INTEGER NOT NULL CHECK (start >= 0),
    stop    INTEGER NOT NULL CHECK (stop > start),
    durable INTEGER NOT NULL CHECK (durable >= start AND durable <= stop),
    PRIMARY KEY (job_id, start)
) WITHOUT ROWID;
-- table settings
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- trigger segments_dropped_by_new_remote
CREATE TRIGGER segments_dropped_by_new_remote
AFTER UPDATE OF etag, last_modified, bytes_total ON jobs
BEGIN
    DELETE FROM segments WHERE job_id = new.id;
END;
-- trigger segments_dropped_when_done
CREATE TRIGGER segments_dropped_when_done
AFTER UPDATE OF state ON jobs WHEN new.state = 'done'
BEGIN
    DELETE FROM segments WHERE job_id = new.id;
END;
