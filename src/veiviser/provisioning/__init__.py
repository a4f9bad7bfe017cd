"""Provisioning: read a site's state, plan the difference to the template, apply it in batches."""
