"""Processing settings of TI's out-of-box demo, as a ``.cfg`` states them.

These are not chirp parameters: they say how the demo turns the chirps into a point cloud (CFAR,
peak grouping, clutter removal, fields of view, calibration) and what it sends over the UART. The DSP
chain in ``runtime/dsp`` reads them so that its point clouds mean what TI's do.
"""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field


class CfarAveraging(IntEnum):
    """``cfarCfg`` averageMode."""

    CA = 0  # cell averaging
    CAGO = 1  # greatest-of
    CASO = 2  # smallest-of


class CfarConfig(BaseModel):
    """One ``cfarCfg`` line (one processing direction)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    averaging: CfarAveraging = Field(default=CfarAveraging.CAGO, description="averaging mode")
    window_len: int = Field(default=8, gt=0, description="noise window cells on each side")
    guard_len: int = Field(default=4, ge=0, description="guard cells on each side")
    noise_div_shift: int = Field(default=3, ge=0, description="log2 of the noise averaging divisor")
    cyclic: bool = Field(default=False, description="wrap the window around the axis ends")
    threshold_db: float = Field(
        default=15.0, ge=0, description="detection threshold above noise [dB]"
    )
    peak_grouping: bool = Field(default=True, description="keep only local maxima along this axis")


class DemoConfig(BaseModel):
    """Demo processing and output settings (everything in the ``.cfg`` that is not the chirp)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cfar_range: CfarConfig = Field(default_factory=CfarConfig, description="cfarCfg direction 0")
    cfar_doppler: CfarConfig = Field(
        default_factory=lambda: CfarConfig(averaging=CfarAveraging.CA, window_len=4, guard_len=2),
        description="cfarCfg direction 1",
    )
    doppler_cfar: bool = Field(
        default=True,
        description="CFAR along Doppler too (SDK 2.x/3.x); the xWR14xx SDK 1.x demo runs it along "
        "range only (its cfarCfg has no direction)",
    )
    multi_obj_beamforming: bool = Field(default=True, description="report a 2nd azimuth peak")
    multi_obj_threshold: float = Field(
        default=0.5, ge=0, le=1, description="2nd peak must exceed this fraction of the 1st"
    )
    multi_obj_on_magnitude: bool = Field(
        default=False,
        description="multi_obj_threshold compares azimuth-FFT magnitudes (xWR14xx SDK 1.x: the "
        "HWA's magnitude output), not powers",
    )
    range_bin_limits: tuple[int, int] | None = Field(
        default=None,
        description="peakGrouping startRangeIdx/endRangeIdx: the xWR14xx SDK 1.x demo drops "
        "detections outside these range bins (None: all bins)",
    )
    angle_fft_size: int | None = Field(
        default=None,
        gt=1,
        description="the demo's azimuth FFT size, the peak taken at an FFT bin without "
        "interpolation (xWR14xx SDK 1.x: 64); None: a fine grid with parabolic refinement",
    )
    clutter_removal: bool = Field(default=False, description="subtract the per-chirp mean (static)")
    azimuth_fov_deg: tuple[float, float] = Field(default=(-90.0, 90.0), description="aoaFovCfg")
    elevation_fov_deg: tuple[float, float] = Field(default=(-90.0, 90.0), description="aoaFovCfg")
    range_fov_m: tuple[float, float] | None = Field(
        default=None, description="cfarFovCfg direction 0 (None: full range)"
    )
    doppler_fov_mps: tuple[float, float] | None = Field(
        default=None, description="cfarFovCfg direction 1 (None: full Doppler)"
    )
    range_bias_m: float = Field(default=0.0, description="compRangeBiasAndRxChanPhase range bias")
    rx_channel_phase: tuple[complex, ...] | None = Field(
        default=None,
        description="per virtual antenna complex compensation, tx-major (None: identity)",
    )
    dc_range_calibration: bool = Field(default=False, description="calibDcRangeSig enabled")
    # guiMonitor: what the demo sends over the UART data port each frame.
    send_points: bool = Field(default=True, description="guiMonitor detected objects (TLV 1)")
    send_side_info: bool = Field(default=True, description="point SNR/noise (TLV 7, SDK 3.x)")
    send_range_profile: bool = Field(default=True, description="log-magnitude range (TLV 2)")
    send_noise_profile: bool = Field(default=False, description="noise profile (TLV 3)")
    send_azimuth_heatmap: bool = Field(default=False, description="range-azimuth (TLV 4)")
    send_range_doppler_heatmap: bool = Field(default=False, description="range-Doppler (TLV 5)")
    send_stats: bool = Field(default=False, description="timing statistics (TLV 6)")
