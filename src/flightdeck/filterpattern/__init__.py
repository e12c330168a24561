"""CloudWatch Logs filter patterns, evaluated offline as AWS evaluates them. Pure: no I/O."""
