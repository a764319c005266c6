"""The web dashboard and HTTP JSON API: a stateless service over the schedulers' gRPC
protocol (docs/http-api.md)."""
