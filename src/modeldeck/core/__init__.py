"""Entities, errors, ids, refs and pure logic. Imports nothing else of modeldeck."""
