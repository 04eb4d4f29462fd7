-- The schedule screens list a caregiver's visits by start time.
CREATE INDEX IF NOT EXISTS visits_caregiver_scheduled_start_idx
    ON visits (caregiver_id, scheduled_start);
