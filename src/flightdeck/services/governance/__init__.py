"""Governance of the cross-account role: policy versions, 14 days' notice, drift detection."""
