ALTER TABLE user_todos ADD COLUMN due_at timestamptz;
CREATE INDEX user_todos_user_open ON user_todos (user_id) WHERE NOT done;
