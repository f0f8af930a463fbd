CREATE TABLE invoices (
    id integer PRIMARY KEY,
    number text NOT NULL,
    notes text NOT NULL,
    due_on date NOT NULL DEFAULT '2024-12-31'
);

INSERT INTO invoices (id, number, notes) VALUES (1, 'INV-1', 'none');
