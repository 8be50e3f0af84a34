"""The root of every error the hardware layer raises."""


class HalError(Exception):
    """Base of all hardware-layer errors."""


class BackendUnavailable(HalError, RuntimeError):
    """A configured backend cannot run here (missing library, tool or device); says what is needed."""

    def __init__(self, backend: str, needs: str) -> None:
        super().__init__(f"backend {backend!r} cannot run: {needs}")
        self.backend = backend
        self.needs = needs
