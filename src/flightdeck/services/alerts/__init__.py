"""Alerts on DAGs and Deployments: rules, channels, evaluation and delivery (docs/alerts.md)."""
