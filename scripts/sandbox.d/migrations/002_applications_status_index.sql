CREATE INDEX applications_status ON applications (status);
