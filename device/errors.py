"""The root of every error the device package raises, so a caller can catch them in one place."""


class RecorderError(Exception):
    """Base of all device-side errors; subclasses carry the fields a caller needs."""
