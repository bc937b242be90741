-- One SQL text serves both backends (docs/decisions.md): the export register keeps its
-- category ids as JSON text, as SQLite and the import register do.
ALTER TABLE exports ALTER COLUMN categories TYPE TEXT USING categories::text;
