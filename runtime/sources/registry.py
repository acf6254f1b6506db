"""The source types the daemon can build from its YAML, looked up by ``type`` (the plugin registry).

Each source module owns its settings model and its ``from_settings()`` (see
:mod:`runtime.sources.base`); this table names them. To add a source type: write its module (a
:class:`~runtime.sources.base.SourceBase` with ``settings_model`` and ``from_settings``, a
:class:`~runtime.sources.base.SourceSettingsBase` with ``type: Literal["<name>"]``), then add it to
:data:`SOURCE_TYPES` and to the :data:`SourceSettings` union below.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Protocol

from pydantic import Field

from firmware_cfg import RadarConfig
from runtime.sources.base import Source, SourceFactory, SourceSettingsBase
from runtime.sources.dca1000 import DCA1000Source, Dca1000SourceSettings
from runtime.sources.replay import ReplaySource, ReplaySourceSettings
from runtime.sources.uart import SerialSourceSettings, UartSource

__all__ = ["SOURCE_TYPES", "SourcePlugin", "SourceSettings", "source_factory"]


class SourcePlugin(Protocol):
    """What a source type provides to the daemon: its settings model and its constructor."""

    settings_model: type[SourceSettingsBase]

    @classmethod
    def from_settings(
        cls, settings: Any, radar_config: RadarConfig, log: Any
    ) -> tuple[Source, Any]: ...


#: ``type`` -> the source class that builds it.
SOURCE_TYPES: dict[str, type[SourcePlugin]] = {
    "serial": UartSource,
    "dca1000": DCA1000Source,
    "replay": ReplaySource,
}

#: The ``source`` section of a radar: one of the types' settings, picked by ``type``.
SourceSettings = Annotated[
    SerialSourceSettings | Dca1000SourceSettings | ReplaySourceSettings,
    Field(discriminator="type"),
]


def source_factory(
    settings: SourceSettingsBase, radar_config: RadarConfig, log: Any = None
) -> SourceFactory:
    """The factory of ``settings``' source type; opens nothing itself.

    Args:
        settings: a validated source section (its ``type`` names the plugin).
        radar_config: the radar's configuration, whole.
        log: logger (or a radar's logger adapter) for what the factory does.

    Raises:
        KeyError: an unknown ``type`` (the config validation rejects it first).
    """
    plugin = SOURCE_TYPES[settings.type]  # type: ignore[attr-defined]
    out = log if log is not None else logging.getLogger(__name__)

    def factory() -> tuple[Source, Any]:
        return plugin.from_settings(settings, radar_config, out)

    return factory
