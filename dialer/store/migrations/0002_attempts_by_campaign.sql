-- 0002: the ledger read per campaign (results export, dashboard counts) in id order.
CREATE INDEX attempts_by_campaign ON attempts (campaign_id, id);
