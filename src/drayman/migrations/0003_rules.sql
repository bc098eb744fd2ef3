-- Per-host rules: headers, folder, template and a connection limit for every
-- job whose host matches pattern ("media.example.com" or "*.example.com").
CREATE TABLE rules (
    id              INTEGER PRIMARY KEY,
    pattern         TEXT    NOT NULL UNIQUE,
    -- JSON array of [name, value] pairs; sent only to matching hosts
    headers         TEXT    NOT NULL DEFAULT '[]',
    dest_dir        TEXT,
    template        TEXT,
    max_connections INTEGER CHECK (max_connections IS NULL OR max_connections >= 1),
    created_at      REAL    NOT NULL
);
