"""Radar signal processing: raw ADC frames -> range-Doppler maps -> detections -> point clouds.

One module per stage, pure numpy/scipy functions. Every function takes its radar parameters from a
:class:`~firmware_cfg.chirp.ChirpConfig` and its processing settings from a
:class:`~firmware_cfg.demo.DemoConfig`; nothing keeps TI constants of its own.

Stages (in chain order):

- :mod:`runtime.dsp.range` -- windowed range FFT, range axis.
- :mod:`runtime.dsp.clutter` -- static clutter removal (mean over loops).
- :mod:`runtime.dsp.doppler` -- windowed Doppler FFT, velocity axis, TDM-MIMO phase compensation.
- :mod:`runtime.dsp.cfar` -- CA/CAGO/CASO/OS-CFAR in 1-D and along map axes.
- :mod:`runtime.dsp.peaks` -- peak grouping and field-of-view masks.
- :mod:`runtime.dsp.angle` -- azimuth/elevation from the virtual array.
- :mod:`runtime.dsp.detection` -- the detection record and its TI-style point.
- :mod:`runtime.dsp.chain` -- a cached per-config plan and the whole chain for one frame.
- :mod:`runtime.dsp.pointcloud` -- TI-style point cloud and the sorted detection list.
- :mod:`runtime.dsp.micro_doppler` -- velocity-time spectrogram over a window of frames.
- :mod:`runtime.dsp.vitals` -- chest displacement and breathing/heart rates.
- :mod:`runtime.dsp.micro_motion` -- slow-time residual (micro-motion) map and its elevation.

Conventions (pinned by ``shared/vectors/dca1000_iwr1843.bin``): a target moving away (+ velocity)
advances the slow-time phase (positive Doppler frequency); a target at + azimuth (toward +x) gives the
virtual element at x half-wavelengths the phase ``+pi * x * sin(az)`` relative to x = 0 (and
``+pi * z * sin(el)`` for height z).
"""

from runtime.dsp.chain import DspPlan, FrameResult, make_plan, process_frame
from runtime.dsp.detection import DETECTION_DTYPE
from runtime.dsp.pointcloud import detections, point_cloud

__all__ = [
    "DETECTION_DTYPE",
    "DspPlan",
    "FrameResult",
    "detections",
    "make_plan",
    "point_cloud",
    "process_frame",
]
