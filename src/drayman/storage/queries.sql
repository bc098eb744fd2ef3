-- Named queries of the job repository. Each starts with "-- name: NAME".
-- Lists of ids and states are passed as JSON arrays and read with json_each,
-- so every statement here is static text.

-- name: insert_job
INSERT INTO jobs (id, url, original_url, host, dest_dir, requested_name, headers, sha256,
                  state, created_at, updated_at, priority, title, author, thumbnail_url,
                  name_template, position, insecure, base_dir, proxy, max_filesize, page_url,
                  sort_by_type, ignore_schedule, split, max_speed)
VALUES (:id, :url, :url, :host, :dest_dir, :requested_name, :headers, :sha256,
        :state, :now, :now, :priority, :title, :author, :thumbnail_url,
        :name_template, :position, :insecure, :base_dir, :proxy, :max_filesize, :page_url,
        :sort_by_type, :ignore_schedule, :split, :max_speed);

-- name: last_id_and_position
-- inside the add's write transaction nobody else inserts: ids follow on,
-- above every id ever given (a removed job's id is never given again)
SELECT max(coalesce(max(id), 0),
           coalesce((SELECT high FROM id_high_water WHERE name = 'jobs'), 0)),
       coalesce(max(position), 0)
FROM jobs;

-- name: raise_high_water
UPDATE id_high_water SET high = max(high, :high) WHERE name = :name;

-- name: get_job
SELECT * FROM jobs WHERE id = :id;

-- name: list_jobs
SELECT * FROM jobs ORDER BY position, id;

-- name: list_jobs_in_state
SELECT * FROM jobs WHERE state = :state ORDER BY position, id;

-- name: job_states
SELECT id, state FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: ids_in_states
SELECT id FROM jobs WHERE state IN (SELECT value FROM json_each(:states)) ORDER BY position, id;

-- name: runnable_jobs
SELECT * FROM jobs
WHERE state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
  AND host NOT IN (SELECT value FROM json_each(:busy_hosts))
  -- a pause band of the schedule holds all but the jobs that ignore it
  AND (NOT :held OR ignore_schedule)
  -- the run's proxy lost: only jobs with a proxy (or none) of their own go
  AND (NOT :own_proxy_only OR proxy IS NOT NULL)
ORDER BY priority DESC, position, id
LIMIT :limit;

-- name: next_attempt_at
-- One entry of the partial index jobs_retry_due. Named, because without
-- ANALYZE statistics the planner prefers the (state) index and reads every
-- queued job (12 ms at 100,000 jobs, after every transfer).
SELECT next_attempt_at FROM jobs INDEXED BY jobs_retry_due
WHERE state = 'queued' AND next_attempt_at IS NOT NULL
ORDER BY next_attempt_at LIMIT 1;

-- name: has_work
SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('queued', 'running'));

-- name: count_by_state
SELECT state, count(*) FROM jobs GROUP BY state;

-- name: change_state
-- The guard (state IN sources) makes a concurrent change by another process
-- win instead of being overwritten.
UPDATE jobs
SET state = :target,
    updated_at = :now,
    next_attempt_at = NULL,
    error = CASE WHEN :keep_error THEN error ELSE NULL END,
    attempts = CASE WHEN :reset_attempts THEN 0 ELSE attempts END
WHERE id IN (SELECT value FROM json_each(:ids))
  AND state IN (SELECT value FROM json_each(:sources));

-- name: checkpoint
-- a .part's identity not recorded yet comes with its first checkpoint
UPDATE jobs SET bytes_done = :bytes_done, part_tail = :part_tail, updated_at = :now,
                part_identity = coalesce(:part_identity, part_identity)
WHERE id = :id;

-- name: set_part_identity
UPDATE jobs SET part_identity = :part_identity, updated_at = :now WHERE id = :id;

-- name: record_remote
-- the tail digest belongs to one offset: kept only while bytes_done stays there
UPDATE jobs
SET etag = :etag, last_modified = :last_modified, bytes_total = :bytes_total,
    effective_url = :effective_url,
    part_tail = CASE WHEN bytes_done = :bytes_done THEN part_tail ELSE NULL END,
    bytes_done = :bytes_done, updated_at = :now
WHERE id = :id
RETURNING *;

-- name: name_taken
SELECT 1 FROM jobs WHERE dest_dir = :dest_dir AND file_key = :file_key AND id != :id;

-- name: reserve_name
-- a job sorted by file type gets its category's folder in the same write
UPDATE jobs SET file_name = :file_name, file_key = :file_key, updated_at = :now,
                dest_dir = coalesce(:dest_dir, dest_dir)
WHERE id = :id AND file_name IS NULL;

-- name: reserve_name_and_remote
-- reserve_name and record_remote (from byte 0) in one statement: a job's
-- name chosen after the server's answer, with what the answer says
UPDATE jobs SET file_name = :file_name, file_key = :file_key, updated_at = :now,
                dest_dir = coalesce(:dest_dir, dest_dir),
                etag = :etag, last_modified = :last_modified, bytes_total = :bytes_total,
                effective_url = :effective_url,
                part_tail = CASE WHEN bytes_done = 0 THEN part_tail ELSE NULL END,
                bytes_done = 0
WHERE id = :id AND file_name IS NULL
RETURNING *;

-- name: rename_target
UPDATE jobs SET file_name = :file_name, file_key = :file_key, updated_at = :now
WHERE id = :id;

-- name: finish_job
UPDATE jobs
SET state = 'done', bytes_done = :bytes_done, bytes_total = :bytes_done,
    error = NULL, next_attempt_at = NULL, finished_at = :now, updated_at = :now
WHERE id = :id AND state IN (SELECT value FROM json_each(:sources));

-- name: requeue_job
UPDATE jobs
SET state = 'queued', error = :error, attempts = :attempts,
    next_attempt_at = :next_attempt_at, updated_at = :now
WHERE id = :id AND state = 'running';

-- name: set_link
-- a fresh media URL for an expired one, resolved again from the job's page;
-- original_url stays: it names the download its .part belongs to
UPDATE jobs SET url = :url, host = :host, headers = :headers, updated_at = :now
WHERE id = :id AND state = 'running';

-- name: fail_job
-- a size the server told before the failure is kept when none was recorded
-- (a file refused for lack of space or for its size: "size ?" said nothing)
UPDATE jobs
SET state = 'failed', error = :error, attempts = :attempts,
    bytes_total = COALESCE(bytes_total, :bytes_total),
    next_attempt_at = NULL, finished_at = :now, updated_at = :now
WHERE id = :id AND state = 'running';

-- name: release_job
-- shutdown: the job goes back to the queue untouched, to resume next time
UPDATE jobs SET state = 'queued', updated_at = :now WHERE id = :id AND state = 'running';

-- name: recover_running
UPDATE jobs SET state = 'queued', updated_at = :now WHERE state = 'running';

-- name: delete_jobs
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids)) RETURNING *;

-- name: insert_rule
-- a new rule takes an id above every one ever given; a replaced one keeps its own
INSERT INTO rules (id, pattern, headers, dest_dir, template, max_connections, insecure, proxy,
                   max_filesize, created_at)
VALUES (max(coalesce((SELECT max(id) FROM rules), 0),
            coalesce((SELECT high FROM id_high_water WHERE name = 'rules'), 0)) + 1,
        :pattern, :headers, :dest_dir, :template, :max_connections, :insecure, :proxy,
        :max_filesize, :now)
ON CONFLICT (pattern) DO UPDATE SET
    headers = excluded.headers, dest_dir = excluded.dest_dir,
    template = excluded.template, max_connections = excluded.max_connections,
    insecure = excluded.insecure, proxy = excluded.proxy, max_filesize = excluded.max_filesize
RETURNING id;

-- name: list_rules
SELECT * FROM rules ORDER BY pattern;

-- name: delete_rule
DELETE FROM rules WHERE id = :id OR pattern = :pattern RETURNING id;

-- name: bump_priority
UPDATE jobs SET priority = priority + :delta, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: waiting_jobs
-- aria2's waiting queue: queued and paused, in the order they will start
SELECT * FROM jobs WHERE state IN ('queued', 'paused')
ORDER BY priority DESC, position, id LIMIT :limit OFFSET :offset;

-- name: latest_stopped
-- the most recently finished or failed, least recent first
SELECT * FROM (
    SELECT * FROM jobs WHERE state IN ('done', 'failed')
    ORDER BY coalesce(finished_at, updated_at) DESC, id DESC LIMIT :limit
) ORDER BY coalesce(finished_at, updated_at), id;

-- name: waiting_ids
-- the waiting queue's order (waiting_jobs), ids only
SELECT id FROM jobs WHERE state IN ('queued', 'paused') ORDER BY priority DESC, position, id;

-- name: put_in_order
-- the first id gets the highest priority, the last 1: they start in this order
-- (a join: a subquery looking each row's place up in the list was quadratic,
-- minutes for a queue of 100,000)
UPDATE jobs SET priority = json_array_length(:ids) - place.key, updated_at = :now
FROM json_each(:ids) AS place
WHERE jobs.id = place.value;

-- name: first_jobs
SELECT * FROM jobs ORDER BY position, id LIMIT :limit;

-- name: jobs_updated_since
SELECT * FROM jobs WHERE updated_at >= :since ORDER BY position, id;

-- name: count_jobs
SELECT count(*) FROM jobs;

-- name: get_setting
SELECT value FROM settings WHERE key = :key;

-- name: set_setting
INSERT INTO settings (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: set_job_speed
UPDATE jobs SET max_speed = :rate, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: job_speeds
SELECT id, max_speed FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: urls_in_queue
-- which of the given URLs some job already downloads (as given or as added)
SELECT DISTINCT value FROM json_each(:urls)
WHERE value IN (SELECT url FROM jobs) OR value IN (SELECT original_url FROM jobs);

-- name: list_segments
SELECT start, stop, durable FROM segments WHERE job_id = :job_id ORDER BY start;

-- name: delete_segments
DELETE FROM segments WHERE job_id = :job_id;

-- name: insert_segment
INSERT INTO segments (job_id, start, stop, durable) VALUES (:job_id, :start, :stop, :durable);

-- name: claim_jobs
UPDATE jobs SET state = 'running', updated_at = :now, next_attempt_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'queued'
RETURNING *;

-- name: cookies_of
SELECT job_id, cookies FROM job_cookies WHERE job_id IN (SELECT value FROM json_each(:ids));

-- name: get_cookies
SELECT cookies FROM job_cookies WHERE job_id = :id;

-- name: save_cookies
-- a job removed meanwhile keeps no cookies (and breaks no foreign key)
INSERT INTO job_cookies (job_id, cookies)
SELECT id, :cookies FROM jobs WHERE id = :id
ON CONFLICT (job_id) DO UPDATE SET cookies = excluded.cookies;

-- name: list_schedules
SELECT * FROM schedules ORDER BY id;

-- name: insert_schedule
INSERT INTO schedules (days, start_minute, end_minute, max_speed, created_at)
VALUES (:days, :start, :end, :rate, :now)
RETURNING id;

-- name: delete_schedule
DELETE FROM schedules WHERE id = :id RETURNING id;
