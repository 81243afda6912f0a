-- The review database as schema version 1 wrote it (its DDL verbatim), for migration tests.
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT    NOT NULL,
    dataset_key TEXT    NOT NULL,
    sample_id   INTEGER NOT NULL CHECK (sample_id >= 0),
    action      TEXT    NOT NULL CHECK (action IN ('keep', 'relabel', 'ambiguous', 'skip')),
    old_label   TEXT    NOT NULL,
    new_label   TEXT,
    reviewer    TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX decisions_by_sample ON decisions (dataset_key, sample_id, id);
INSERT INTO schema_version (version) VALUES (1);
