"""Errors that reach API clients: each carries heketi's status code and text."""

from __future__ import annotations


class ApiError(Exception):
    status = 500

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str = "Id not found"):
        super().__init__(message)


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class Busy(ApiError):
    status = 429

    def __init__(self, message: str = "Server busy. Retry operation later."):
        super().__init__(message)


class Unavailable(ApiError):
    status = 503


class ServerError(ApiError):
    status = 500
