ALTER TABLE applications ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
