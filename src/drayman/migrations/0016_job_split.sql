-- Connections for one job's file (aria2's split / max-connection-per-server,
-- given over the RPC); NULL: the engine's --split.
ALTER TABLE jobs ADD COLUMN split INTEGER CHECK (split IS NULL OR split >= 1);
