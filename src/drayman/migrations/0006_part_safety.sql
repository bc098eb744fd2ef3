-- base_dir: the folder the user chose; dest_dir is base_dir plus the subfolders
-- a template or a batch entry made, which are never reached through a link
-- (drayman.queue.folder). NULL for older jobs: dest_dir is then the chosen one.
ALTER TABLE jobs ADD COLUMN base_dir TEXT;
-- Which file the .part is ("device:inode") and a digest of its last 64 KiB
-- before bytes_done (drayman.queue.partfile.KnownPart): a .part replaced,
-- cut short or changed between runs is recognised instead of trusted.
ALTER TABLE jobs ADD COLUMN part_identity TEXT;
ALTER TABLE jobs ADD COLUMN part_tail TEXT;
