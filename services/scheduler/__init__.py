"""The scheduler service: stateless replicas that keep every run's state in redis."""
