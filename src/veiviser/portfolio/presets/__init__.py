"""Shipped configuration presets (YAML package data)."""
