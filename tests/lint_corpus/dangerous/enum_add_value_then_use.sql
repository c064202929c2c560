-- migrate:up
ALTER TYPE mood ADD VALUE 'happy';
UPDATE people SET current_mood = 'happy' WHERE id = 42;
