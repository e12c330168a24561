"""HTTP surface (FastAPI, ``/api/v1``): parse input, call services, render output."""
