"""Settings of the live web view (``web:`` in the daemon YAML; absent = off)."""

from __future__ import annotations

import ipaddress
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["WebSettings", "is_loopback"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebSettings(BaseModel):
    """One page served by the daemon: top view (points, tracks, zones, field of view) and events.

    Loopback by default; any other bind address needs ``token_env`` (the name of an environment
    variable holding the token; the page then takes ``?token=...``)."""

    model_config = _STRICT

    host: str = Field(
        default="127.0.0.1",
        title="Host",
        description="bind address; anything but loopback needs token_env",
    )
    port: int = Field(default=8765, ge=0, le=65535, title="Port", description="TCP port (0 = any)")
    token_env: str | None = Field(
        default=None,
        title="Token variable",
        description="environment variable holding the access token (required off loopback)",
    )
    push_interval_s: float = Field(
        default=0.2, gt=0, le=10, title="Push interval", description="live update period [s]"
    )
    max_points: int = Field(
        default=500, ge=0, le=10_000, title="Max points", description="points per radar per update"
    )
    max_events: int = Field(
        default=50, ge=1, le=1000, title="Max events", description="events kept for the page list"
    )

    @model_validator(mode="after")
    def _token_off_loopback(self) -> Self:
        if not is_loopback(self.host) and not self.token_env:
            raise ValueError(
                f"host {self.host} is not a loopback address: set token_env to the name of an "
                "environment variable holding an access token (or bind to 127.0.0.1)"
            )
        return self
