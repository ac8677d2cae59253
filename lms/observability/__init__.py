"""What operators look at: liveness and readiness probes (``health``) and logs, as JSON lines with the
request id in production (``logs``)."""
