"""Portfolio analytics and report writers.

Pure functions over the consolidated frames the sync delivers (documented in :mod:`.frames`):

- :mod:`.benefits`: achievement, indicator/benefit status, planned vs realised, gaps;
- :mod:`.risks`: 5×5 risk/opportunity matrices, unacceptable risks, missing action owners;
- :mod:`.stakeholders`: counts, influence grid, stakeholders shared across projects;
- :mod:`.itposmo`: design-reality gap assessment; :mod:`.prioritisation`: weighted criteria;
- :mod:`.history`: change over time; :mod:`.findings`: problems reported instead of raised.

The methods, the decisions around them and the report outputs are described in docs/portfolio.md.
"""
