-- The state store's schema version 1, as veiviser 0.1.0 created it on postgresql: frozen, never edit.
-- Derived from this repository's src/veiviser/sync/store.py at commit 7883dfc (the 0.1.0 code),
-- compiled by SQLAlchemy's postgresql dialect. tests/store/test_migrations.py builds a store from it.

CREATE TABLE sync_central (
	kind VARCHAR(64) NOT NULL,
	source_key VARCHAR(255) NOT NULL,
	site_id VARCHAR(64) NOT NULL,
	central_id INTEGER NOT NULL,
	central_hash VARCHAR(64) NOT NULL,
	PRIMARY KEY (kind, source_key)
);

CREATE INDEX ix_sync_central_site ON sync_central (kind, site_id);

CREATE TABLE sync_locks (
	name VARCHAR(64) NOT NULL,
	owner VARCHAR(255) NOT NULL,
	acquired_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	heartbeat_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (name)
);

CREATE TABLE sync_runs (
	id SERIAL NOT NULL,
	hub_url VARCHAR(1024) NOT NULL,
	owner VARCHAR(255) NOT NULL,
	started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITHOUT TIME ZONE,
	status VARCHAR(32) NOT NULL,
	counts JSON NOT NULL,
	message TEXT,
	PRIMARY KEY (id)
);

CREATE TABLE sync_site_summary (
	site_id VARCHAR(64) NOT NULL,
	site_url VARCHAR(1024) NOT NULL,
	title VARCHAR(512),
	rows INTEGER NOT NULL,
	findings JSON NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (site_id)
);

CREATE TABLE sync_tokens (
	site_id VARCHAR(64) NOT NULL,
	list_name VARCHAR(255) NOT NULL,
	list_id VARCHAR(64) NOT NULL,
	token TEXT NOT NULL,
	issued_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	site_url VARCHAR(1024) NOT NULL,
	run_id INTEGER,
	PRIMARY KEY (site_id, list_name)
);

CREATE TABLE sync_versions (
	id SERIAL NOT NULL,
	kind VARCHAR(64) NOT NULL,
	source_key VARCHAR(255) NOT NULL,
	site_id VARCHAR(64) NOT NULL,
	project_url VARCHAR(1024) NOT NULL,
	project_title VARCHAR(512) NOT NULL,
	values JSON NOT NULL,
	content_hash VARCHAR(64) NOT NULL,
	valid_from TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	valid_to TIMESTAMP WITHOUT TIME ZONE,
	deleted BOOLEAN NOT NULL,
	run_id INTEGER,
	PRIMARY KEY (id)
);

CREATE INDEX ix_sync_versions_from ON sync_versions (kind, valid_from);

CREATE INDEX ix_sync_versions_key ON sync_versions (kind, source_key, valid_to);

CREATE INDEX ix_sync_versions_site ON sync_versions (kind, site_id, valid_to);

CREATE TABLE veiviser_schema (
	component VARCHAR(64) NOT NULL,
	version INTEGER NOT NULL,
	applied_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (component)
);

CREATE TABLE sync_findings (
	id SERIAL NOT NULL,
	run_id INTEGER NOT NULL,
	site_url VARCHAR(1024) NOT NULL,
	list_title VARCHAR(255) NOT NULL,
	item_id INTEGER,
	field VARCHAR(255),
	value TEXT,
	rule VARCHAR(128) NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(run_id) REFERENCES sync_runs (id)
);

CREATE INDEX ix_sync_findings_run_id ON sync_findings (run_id);

CREATE TABLE sync_run_sites (
	run_id INTEGER NOT NULL,
	site_url VARCHAR(1024) NOT NULL,
	site_id VARCHAR(64),
	title VARCHAR(512),
	status VARCHAR(32) NOT NULL,
	error TEXT,
	counts JSON NOT NULL,
	requests INTEGER NOT NULL,
	started_at TIMESTAMP WITHOUT TIME ZONE,
	finished_at TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (run_id, site_url),
	FOREIGN KEY(run_id) REFERENCES sync_runs (id)
);
