-- {{file}}: {{name}}
-- Applied by `tmeops migrate apply` in one transaction, after `tmeops migrate test` has proven it on a
-- copy of the database. Add `-- tmeops:no-transaction` on its own line for statements that cannot run
-- in a transaction (CREATE INDEX CONCURRENTLY).

