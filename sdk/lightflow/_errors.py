"""The one exception root of the SDK."""


class LightflowError(Exception):
    """Base of every error the lightflow package raises."""
