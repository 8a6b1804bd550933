-- 0008: campaign tags, a manager's labels to find campaigns by (a JSON list of text).
-- Like the name, they may change in any state.
ALTER TABLE campaigns ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
