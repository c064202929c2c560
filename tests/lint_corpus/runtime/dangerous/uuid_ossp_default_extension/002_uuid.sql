-- migrate:up
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), note text);
