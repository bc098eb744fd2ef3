-- A job's cookies: those of `drayman add --cookies FILE`, and those its
-- servers set (a redirect to itself that sets one is a cookie check). JSON
-- records (drayman.cookies), kept apart from the job row: `ls` never reads
-- them, a resume after a restart still has them, a removed job takes them along.
CREATE TABLE job_cookies (
    job_id  INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    cookies TEXT    NOT NULL
);
