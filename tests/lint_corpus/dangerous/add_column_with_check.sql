ALTER TABLE subscriptions ADD COLUMN seats integer CHECK (seats > 0);
