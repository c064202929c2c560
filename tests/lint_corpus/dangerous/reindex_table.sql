-- rebuild bloated indexes
REINDEX TABLE orders;
