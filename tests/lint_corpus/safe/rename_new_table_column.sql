-- migrate:up
CREATE TABLE coupons (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL);
ALTER TABLE coupons RENAME COLUMN code TO coupon_code;
