CREATE TABLE invoices (
    id integer PRIMARY KEY,
    number text NOT NULL,
    notes text,
    due_on date DEFAULT '2024-12-31'
);
