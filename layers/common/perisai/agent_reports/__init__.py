"""Agent reports: an agent's performance and monthly commission statement, and the branches'
evaluation list, read from the aggregator's counters (``perisai.coverage``), the agent registry
(``perisai.agents``) and, for the fraud signals, the agent's recruits' profiles."""
