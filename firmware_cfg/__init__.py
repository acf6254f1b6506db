"""TI mmWave SDK chirp configurations: parsing, validation, emission and board geometry."""

from firmware_cfg.boards import BOARDS, Board, get_board, virtual_array
from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, AdcFormat, ChirpConfig
from firmware_cfg.emit import emit_cfg
from firmware_cfg.errors import CfgError, CfgErrors, CfgWarning
from firmware_cfg.parser import load_cfg, parse_cfg_text
from firmware_cfg.radar_config import CfgCommand, RadarConfig, dca1000_throughput_bps

__all__ = [
    "BOARDS",
    "SPEED_OF_LIGHT_M_S",
    "AdcFormat",
    "Board",
    "CfgCommand",
    "CfgError",
    "CfgErrors",
    "CfgWarning",
    "ChirpConfig",
    "RadarConfig",
    "dca1000_throughput_bps",
    "emit_cfg",
    "get_board",
    "load_cfg",
    "parse_cfg_text",
    "virtual_array",
]
