"""Refusals the hub answers with a status code and a reason.

Every error body has the same shape, {"error": code, "reason": text}, so the
kiosk's client has one thing to parse. Reasons never contain personal data.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
