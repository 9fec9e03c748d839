"""Errors and warnings shared by the DMFT solvers of both models."""

__all__ = ["IntegrationError", "AccuracyWarning"]


class IntegrationError(ArithmeticError):
    """A time integration produced non-finite or impossible values.

    ``result`` holds everything computed up to the last good time step.
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class AccuracyWarning(UserWarning):
    """The a-posteriori error estimate of a grid-doubling run exceeds the requested tolerance.

    Turn it into an error with ``warnings.simplefilter("error", AccuracyWarning)``.
    """
