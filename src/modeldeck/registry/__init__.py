"""The model registry: versions, aliases and their history, reviews, promotion, lineage."""
