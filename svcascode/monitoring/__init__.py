"""Monitoring from the catalogue: Prometheus burn-rate rules, Alertmanager routes and maintenance mutes,
and OpenSLO documents, all generated from the SLOs, service levels, teams and maintenance windows.

See docs/monitoring.md for the metric names, the burn-rate table and how to wire the files in.
"""
