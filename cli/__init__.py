"""lfctl: the Lightflow command line, over gRPC."""
