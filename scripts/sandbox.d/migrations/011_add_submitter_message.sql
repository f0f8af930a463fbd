ALTER TABLE applications ADD COLUMN submitter_message text;
