-- migrate:up
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(255));
-- migrate:down
DROP TABLE users;
