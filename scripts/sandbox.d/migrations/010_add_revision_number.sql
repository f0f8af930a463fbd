-- 010: applications are revised after review; the app (v2) writes revision_number.
ALTER TABLE applications ADD COLUMN revision_number integer NOT NULL DEFAULT 1;
