-- 0003: scheduled and recurring runs, and the secondary number's turn.
-- A campaign's runs: how many have started, and when a scheduled one starts next.
ALTER TABLE campaigns ADD COLUMN next_run_at REAL;
ALTER TABLE campaigns ADD COLUMN runs INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0);
-- The next attempt dials the secondary number (the primary was just not answered).
ALTER TABLE leads ADD COLUMN next_on_secondary INTEGER NOT NULL DEFAULT 0
    CHECK (next_on_secondary IN (0, 1));
