UPDATE users SET country = 'unknown' WHERE id BETWEEN 1 AND 10000 AND country IS NULL;
