"""Radar signal processing: raw ADC frames -> range-Doppler maps -> detections -> point clouds.

One module per stage, pure numpy/scipy functions; nothing keeps TI constants of its own. Every
stage that reads the demo (processing) settings -- the plan, range axis, angles, point clouds,
micro-Doppler, vitals -- takes the whole :class:`~firmware_cfg.radar_config.RadarConfig` under the
name ``radar_config``, with no default: the ``.cfg``'s range bias and RX phase calibration cannot be
left out by accident. Only array primitives that read nothing but the chirp (``range_fft``, the
Doppler axis and TDM tables, ``check_frame``) take a :class:`~firmware_cfg.chirp.ChirpConfig`.

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
