"""The metadata database: engine, tables and migrations."""
