-- migrate:up transaction:false
ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';
