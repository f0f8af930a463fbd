-- Sample rows for the sandbox's databases (after 001-009).
INSERT INTO users (email, name) SELECT 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 50) g;
INSERT INTO applications (user_id, title, status) SELECT 1 + g % 50, 'Application ' || g, (ARRAY['draft', 'submitted', 'approved'])[1 + g % 3] FROM generate_series(1, 200) g;
INSERT INTO user_todos (user_id, application_id, category) SELECT 1 + g % 50, 1 + g % 200, (ARRAY['review', 'sign', 'upload'])[1 + g % 3] FROM generate_series(1, 300) g;
INSERT INTO audit_events (user_id, action) SELECT 1 + g % 50, 'login' FROM generate_series(1, 500) g;
