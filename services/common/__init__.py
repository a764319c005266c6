"""Plumbing shared by the Lightflow services: serving gRPC, logging, shutdown."""
