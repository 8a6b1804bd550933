-- 0009: attempts by when they finished: a campaign's calls-over-time chart and the system
-- health's recent outcomes read ranges of finished_at, each second a page is open.
CREATE INDEX attempts_by_campaign_finish ON attempts (campaign_id, finished_at);
CREATE INDEX attempts_by_finish ON attempts (finished_at);
