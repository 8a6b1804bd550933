-- 0007: data retention. When a campaign's contact data was purged (names, numbers,
-- emails, attributes, agents' notes): at most once, and never while it dials.
ALTER TABLE campaigns ADD COLUMN contacts_purged_at REAL;
