"""Pydantic models: templates, records and settings."""
