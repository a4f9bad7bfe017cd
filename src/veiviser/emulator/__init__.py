"""A local SharePoint Online emulator (SQLite-backed HTTP server)."""
