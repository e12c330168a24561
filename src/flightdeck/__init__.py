"""flightdeck: run Apache Airflow in your own AWS account, managed from one control plane."""

__version__ = "0.1.0"
