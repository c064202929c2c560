-- migrate:up
CREATE TABLE api_keys (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner_id bigint);
ALTER TABLE api_keys ALTER COLUMN owner_id SET NOT NULL;
ALTER TABLE api_keys ADD COLUMN token text NOT NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_token_key UNIQUE (token);
