-- 012: todos gain the 'approve' category (v2's reviewers approve from their list).
BEGIN;
ALTER TABLE user_todos DROP CONSTRAINT user_todos_category_check;
ALTER TABLE user_todos ADD CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign', 'upload', 'approve'));
COMMIT;
