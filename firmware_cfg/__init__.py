"""TI mmWave SDK chirp configurations: parsing, validation, emission and board geometry."""

from firmware_cfg.boards import BOARDS, Board, get_board, virtual_array
from firmware_cfg.chirp import SPEED_OF_LIGHT_M_S, AdcFormat, ChirpConfig

__all__ = [
    "BOARDS",
    "SPEED_OF_LIGHT_M_S",
    "AdcFormat",
    "Board",
    "ChirpConfig",
    "get_board",
    "virtual_array",
]
