"""Deployments: requests and deploys (``requests``), the worker that runs them (``worker``),
which runtime runs each one (``runtimes``) and the mail owners get (``mail``)."""
