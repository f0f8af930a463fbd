ALTER TABLE user_todos ADD COLUMN urgency text NOT NULL DEFAULT 'normal';
