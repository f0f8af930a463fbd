CREATE TABLE a_documents (
    id integer NOT NULL,
    title text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT a_documents_title_check CHECK (title <> '')
);

CREATE TABLE b_invoices (amount numeric(10,2) NOT NULL) INHERITS (a_documents);
CREATE TABLE c_receipts () INHERITS (a_documents);
