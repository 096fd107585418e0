"""Reads and writes of metadata rows, one module per aggregate. Every function takes an open
connection: the calling service owns the transaction."""
