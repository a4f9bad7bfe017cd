"""``veiviser demo``: realistic demo data for the Trondheim portfolio and the one-command tour.

- :mod:`.data`: the deterministic generator (pure data, internal field names of the template);
- :mod:`.writer`: writes generated data to project sites and the hub through the gateway;
- :mod:`.tour`: :func:`~veiviser.demo.tour.run_demo` — emulator, provisioning, two syncs, report.
"""
