ALTER TABLE legacy_customers ADD PRIMARY KEY (id);
