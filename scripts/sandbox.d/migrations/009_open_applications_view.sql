CREATE VIEW open_applications AS SELECT id, user_id, title, status FROM applications WHERE status IN ('draft', 'submitted');
