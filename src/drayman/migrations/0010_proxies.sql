-- Proxies chosen per job (drayman add --proxy URL, or 'direct' for
-- --no-proxy) and per rule (rules add HOST --proxy URL); NULL: the run's
-- choice (run --proxy, else the environment's variables).
ALTER TABLE jobs ADD COLUMN proxy TEXT;
ALTER TABLE rules ADD COLUMN proxy TEXT;
