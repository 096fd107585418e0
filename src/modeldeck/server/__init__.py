"""The team server: FastAPI over the services, stateless so N workers and replicas share one
database and one object store. Imported only by ``modeldeck server`` (FastAPI is heavy)."""
