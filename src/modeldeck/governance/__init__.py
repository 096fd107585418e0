"""Governance: roles per project, the audit log and its verification, model cards."""
