"""Portfolio sync: extract from project sites, load into the hub, keep state and history."""
