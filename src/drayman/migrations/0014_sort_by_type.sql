-- Folders by file type: a job added without a folder or a template is sorted
-- into its category's subfolder of the download folder (Video/, Archives/)
-- once the server's answer tells its real name (drayman.categories). The
-- folder and the name are then committed together (dest_dir, file_name).
ALTER TABLE jobs ADD COLUMN sort_by_type INTEGER NOT NULL DEFAULT 0 CHECK (sort_by_type IN (0, 1));
