CREATE INDEX applications_user_revision ON applications (user_id, revision_number);
