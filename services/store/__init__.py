"""The Lightflow store service: the per-run document store over gRPC."""
