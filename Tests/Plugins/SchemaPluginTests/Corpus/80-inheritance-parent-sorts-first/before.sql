-- The parent's name sorts before its children's, so a plan that walked tables by name would add the
-- column to the parent first and then fail adding it again to each child.
CREATE TABLE a_documents (
    id integer NOT NULL,
    title text NOT NULL
);

CREATE TABLE b_invoices (amount numeric(10,2) NOT NULL) INHERITS (a_documents);
CREATE TABLE c_receipts () INHERITS (a_documents);

INSERT INTO b_invoices VALUES (1, 'inv', 10.00);
INSERT INTO c_receipts VALUES (2, 'rcpt');
