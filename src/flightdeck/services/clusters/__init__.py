"""Clusters: requests (``requests``), the worker that provisions them (``worker``), its bridge
to the AWS provisioning engine (``engine``) and the mail owners get (``mail``)."""
