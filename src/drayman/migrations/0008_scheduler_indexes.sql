-- The engine asks after every transfer when the next retry is due; with
-- 100,000 queued jobs that question must not read them all. A partial index
-- holds only the jobs waiting out a backoff, so min() is one index lookup.
CREATE INDEX jobs_retry_due ON jobs (next_attempt_at)
    WHERE state = 'queued' AND next_attempt_at IS NOT NULL;
