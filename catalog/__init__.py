"""The department's catalogue: tables, database, import/export, text folding and search."""
