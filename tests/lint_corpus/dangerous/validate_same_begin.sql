BEGIN;
ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0) NOT VALID;
ALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;
COMMIT;
