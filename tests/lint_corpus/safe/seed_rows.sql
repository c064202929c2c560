INSERT INTO plans (code, name, price_cents) VALUES ('free', 'Free', 0), ('pro', 'Pro', 1900)
ON CONFLICT (code) DO NOTHING;
