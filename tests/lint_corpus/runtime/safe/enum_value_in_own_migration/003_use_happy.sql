-- migrate:up
UPDATE people SET current_mood = 'happy' WHERE id = 1;
