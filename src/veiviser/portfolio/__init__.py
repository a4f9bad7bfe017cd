"""Portfolio analytics and report writers."""
