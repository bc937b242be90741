-- exports.categories is JSON text on SQLite already; this keeps the two migration
-- histories at the same versions.
SELECT 1;
