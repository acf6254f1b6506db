"""Settings of the event engine for one radar (embedded per radar in the daemon's YAML config).

Coordinates: **floor frame** = x right (as the radar's x), y forward along the floor (the radar's
boresight projected on the floor), z up from the floor [m]; its origin is on the floor right below the
radar. The radar frame (points as TI reports them: x right, y boresight, z up in the radar's own
orientation) turns into the floor frame with :class:`Mounting`.

Every model rejects unknown keys (``extra="forbid"``) and describes each field, so the app can print a
readable error naming the key and its line.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Mounting(BaseModel):
    """Where the radar hangs: height of its antennas above the floor and its downward tilt."""

    model_config = _STRICT

    height_m: float = Field(
        default=1.5,
        ge=0.0,
        le=5.0,
        description="height of the radar's antennas above the floor [m]",
    )
    tilt_deg: float = Field(
        default=0.0,
        ge=-90.0,
        le=90.0,
        description="downward tilt of the boresight below the horizontal [deg] (+ = looking down)",
    )


class TrackingSettings(BaseModel):
    """Point clustering and the Kalman multi-target tracker (:mod:`runtime.tracking`)."""

    model_config = _STRICT

    cluster_eps_m: float = Field(
        default=0.45,
        gt=0,
        description="DBSCAN neighbourhood radius in the weighted point space [m]",
    )
    cluster_min_points: int = Field(
        default=3, ge=1, description="neighbours (self included) that make a DBSCAN core point"
    )
    z_weight: float = Field(
        default=0.3,
        ge=0,
        description="scale of height differences in the clustering distance (a body is tall) [1]",
    )
    velocity_weight_s: float = Field(
        default=0.2,
        ge=0,
        description="scale of radial-velocity differences in the clustering distance [m per m/s]",
    )
    static_speed_mps: float = Field(
        default=0.05,
        ge=0,
        description="points with |radial velocity| below this are static [m/s]; they keep tracks "
        "alive but never start one",
    )
    floor_z_range_m: tuple[float, float] = Field(
        default=(-0.3, 2.6),
        description="points outside this height band above the floor are dropped [m] (floor and "
        "ceiling reflections)",
    )
    bounds_m: tuple[float, float, float, float] | None = Field(
        default=None,
        description="(x_min, x_max, y_min, y_max) floor area to track in [m]; points outside are "
        "dropped (walls, multipath); None = everywhere",
    )
    birth_min_points: int = Field(
        default=5, ge=1, description="points a cluster needs to start a tentative track"
    )
    birth_min_moving_points: int = Field(
        default=2,
        ge=0,
        description="non-static points a cluster needs to start a track (furniture is static)",
    )
    birth_min_separation_m: float = Field(
        default=0.9,
        ge=0,
        description="no track starts closer than this to an existing track (an arm is not a "
        "second person) [m]",
    )
    confirm_hits: int = Field(
        default=3, ge=1, description="N of the N-of-M rule: hits that confirm a tentative track"
    )
    confirm_window: int = Field(
        default=5,
        ge=1,
        description="M of the N-of-M rule: frames after birth in which the hits must happen",
    )
    max_unseen_s: float = Field(
        default=1.5,
        gt=0,
        description="a moving confirmed track without points coasts at its last velocity and dies "
        "after this long without points [s]",
    )
    max_unseen_static_s: float = Field(
        default=8.0,
        gt=0,
        description="a held confirmed track (someone sitting or lying still, who gives no points) "
        "dies after this long without evidence: points, or micro-motion found at it (raw-ADC "
        "sources, see presence) [s]",
    )
    static_map: bool = Field(
        default=True,
        description="with a presence check (raw-ADC sources) learn where furniture gives static "
        "points while nobody is near and keep those points out of the tracks (without it a track "
        "can latch onto a door leaf's or a shelf's static points and outlive its person)",
    )
    static_map_cell_m: float = Field(
        default=0.3, gt=0, description="cell size of the static clutter map on the floor [m]"
    )
    static_map_learn_s: float = Field(
        default=2.0,
        gt=0,
        description="a cell becomes clutter after static points in it for this long (net of "
        "frames without) while no track was within static_map_clear_m [s]",
    )
    static_map_clear_m: float = Field(
        default=1.0,
        ge=0,
        description="static points this close to a track never teach the clutter map [m]",
    )
    fixed_map: bool = Field(
        default=True,
        title="Fixed-reflector map (point clouds)",
        description="without a presence check (point-cloud sources: UART, RadHAR dumps) drop the "
        "static points of floor cells where static points come back at the same place frame after "
        "frame: a fixed reflector (furniture, a lamp, a multipath spot) returns in the same range "
        "bin and angle, a body's scattering centres move. Without it a walker's track passing such "
        "a spot latches onto it and holds there as a ghost",
    )
    fixed_match_m: float = Field(
        default=0.05,
        gt=0,
        title="Fixed-reflector match distance",
        description="a static point within this of a static point of the previous frame repeats "
        "it [m]: about one range bin of a typical chirp (4-5 cm; a reflector between two bins "
        "hops between them) plus the frame-to-frame jitter of its angle estimate (a few cm)",
    )
    fixed_cell_m: float = Field(
        default=0.3,
        gt=0,
        title="Fixed-reflector cell",
        description="cell size of the fixed-reflector map, in x, y and z of the floor frame [m]",
    )
    fixed_tau_s: float = Field(
        default=1.0,
        gt=0,
        title="Fixed-reflector time constant",
        description="time constant of the running share of frames in which a cell holds a "
        "repeated static point [s]",
    )
    fixed_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        title="Fixed-reflector share",
        description="a cell whose running share of frames with a repeated static point reaches "
        "this holds a fixed reflector; its static points are dropped before clustering (a body "
        "repeats a point in well under a fifth of the frames, a fixed reflector in most)",
    )
    birth_motion_memory_s: float = Field(
        default=3.0,
        ge=0,
        title="Birth motion memory",
        description="without a presence check, a cluster without moving points of its own may "
        "start a track where moving points were seen around it (birth_motion_radius_m, "
        "birth_motion_min_points) during this long [s]: someone jumping or squatting in place "
        "gives zero-Doppler points nearly every frame at a coarse Doppler resolution, furniture "
        "never moves; 0 = off",
    )
    birth_motion_radius_m: float = Field(
        default=0.3,
        gt=0,
        title="Birth motion radius",
        description="remembered moving points count for a cluster within this horizontal distance "
        "of its centroid (about a torso's half width) [m]",
    )
    birth_motion_min_points: int = Field(
        default=3,
        ge=1,
        title="Birth motion points",
        description="remembered moving points (birth_motion_memory_s, birth_motion_radius_m) a "
        "cluster without birth_min_moving_points of its own needs to start a track: several, "
        "so that a stray false detection near furniture does not start one",
    )
    ghost_bearing_deg: float = Field(
        default=10.0,
        ge=0,
        title="Multipath ghost bearing",
        description="a cluster within this horizontal bearing of a confirmed track and further "
        "away (ghost_min_extra_range_m) never starts a track: a mirror image of a person (a path "
        "bouncing off a wall or furniture behind them) lies along the same bearing at a longer "
        "range [deg]; 0 = off",
    )
    ghost_min_extra_range_m: float = Field(
        default=0.5,
        ge=0,
        title="Multipath ghost extra range",
        description="a cluster counts as behind a track when its horizontal range exceeds the "
        "track's by more than this (a body's depth) [m]",
    )
    merge_distance_m: float = Field(
        default=0.6,
        ge=0,
        title="Merge distance",
        description="two confirmed tracks closer than this (horizontally), both moving "
        "(slow_speed_mps) and alike (merge_speed_mps) for merge_after_s, are one body split in "
        "two: the younger one ends [m]; 0 = never merge",
    )
    merge_speed_mps: float = Field(
        default=0.5,
        ge=0,
        title="Merge velocity difference",
        description="tracks merge only when their horizontal velocities differ by less than this "
        "[m/s] (people crossing move differently)",
    )
    merge_after_s: float = Field(
        default=1.0,
        ge=0,
        title="Merge time",
        description="tracks merge after being close and moving alike for this long [s]",
    )
    slow_speed_mps: float = Field(
        default=0.2,
        ge=0,
        description="a track without points whose mean speed (speed_window_s) was below this when "
        "last seen is held in place (no coasting) and uses max_unseen_static_s [m/s]",
    )
    hold_velocity_tau_s: float = Field(
        default=0.25,
        gt=0,
        description="time constant of the velocity decay of a held track [s]: it stops within a "
        "few times this instead of drifting at its last velocity",
    )
    hold_height_after_s: float = Field(
        default=3.0,
        ge=0,
        description="a held track takes the height of its micro-motion (raw ADC) only after being "
        "held this long, when the presence window no longer holds its own walking [s]",
    )
    hold_height_tau_s: float = Field(
        default=1.0,
        gt=0,
        description="time constant of the smoothing of a held track's micro-motion height [s]",
    )
    hold_gate_m: float = Field(
        default=0.5,
        gt=0,
        description="a cluster farther than this from a held track with a micro-motion height (a "
        "settled still person) never joins it [m]",
    )
    hold_max_rise_m: float = Field(
        default=0.6,
        gt=0,
        description="a cluster whose top is more than this above a held track's micro-motion "
        "height never joins it: nobody gets up from the floor in one frame, a passer-by would "
        "take the track over [m]",
    )
    gate_chi2: float = Field(
        default=13.8,
        gt=0,
        description="horizontal Mahalanobis gate (chi-square, 2 degrees of freedom; 13.8 = 99.9 %)",
    )
    max_gate_m: float = Field(
        default=1.2, gt=0, description="a cluster farther than this from a track never joins it [m]"
    )
    person_radius_m: float = Field(
        default=0.5,
        gt=0,
        description="a cluster that reaches within this of two tracks' predictions is split "
        "between them (people passing close by) [m]",
    )
    accel_std_mps2: float = Field(
        default=1.5, gt=0, description="horizontal process noise: white acceleration [m/s^2]"
    )
    vertical_accel_std_mps2: float = Field(
        default=4.0,
        gt=0,
        description="vertical process noise: white acceleration [m/s^2] (falls are fast)",
    )
    measurement_std_m: float = Field(
        default=0.12, gt=0, description="horizontal centroid noise per axis [m]"
    )
    vertical_measurement_std_m: float = Field(
        default=0.15, gt=0, description="vertical centroid noise [m]"
    )
    height_percentile: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="a track's height is this percentile of its points' height above the floor",
    )
    height_tau_s: float = Field(
        default=0.2, ge=0, description="time constant of the height's exponential smoothing [s]"
    )
    speed_window_s: float = Field(
        default=1.0,
        gt=0,
        description="window of a track's mean speed (net displacement / time), used to decide "
        "whether someone is still [s]",
    )
    max_tracks: int = Field(default=16, ge=1, description="most simultaneous tracks")


class Zone(BaseModel):
    """A floor region: an axis-aligned box or a polygon, in floor coordinates [m]."""

    model_config = _STRICT

    name: str = Field(min_length=1, description="zone name, used in topics and entity ids")
    box_m: tuple[float, float, float, float] | None = Field(
        default=None, description="(x_min, x_max, y_min, y_max) [m]; give this or polygon_m"
    )
    polygon_m: list[tuple[float, float]] | None = Field(
        default=None, description="[(x, y), ...] vertices in order [m] (>= 3); or box_m"
    )
    z_range_m: tuple[float, float] | None = Field(
        default=None,
        description="(z_min, z_max) height band above the floor for point evidence [m]; None = all",
    )
    hold_s: float | None = Field(
        default=None, gt=0, description="this zone's off delay [s]; None = occupancy.hold_s"
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if (self.box_m is None) == (self.polygon_m is None):
            raise ValueError(f"zone {self.name!r}: give exactly one of box_m and polygon_m")
        if self.box_m is not None:
            x0, x1, y0, y1 = self.box_m
            if not (x0 < x1 and y0 < y1):
                raise ValueError(f"zone {self.name!r}: box_m needs x_min < x_max and y_min < y_max")
        if self.polygon_m is not None and len(self.polygon_m) < 3:
            raise ValueError(f"zone {self.name!r}: polygon_m needs at least 3 vertices")
        return self


class OccupancySettings(BaseModel):
    """Occupancy hysteresis (per radar and per zone): on after K of N frames, off after a hold."""

    model_config = _STRICT

    on_frames: int = Field(
        default=3, ge=1, description="K: frames with evidence among the last N that turn it on"
    )
    window_frames: int = Field(default=5, ge=1, description="N: the window of the K-of-N rule")
    hold_s: float = Field(
        default=10.0, gt=0, description="off after this long without evidence [s] (5-30 s typical)"
    )
    point_evidence: bool = Field(
        default=False,
        description="also count min_points raw points in the area as evidence (not only "
        "confirmed tracks); off by default because furniture and multipath give points too",
    )
    min_points: int = Field(
        default=5, ge=1, description="points that make evidence when point_evidence is on"
    )

    @model_validator(mode="after")
    def _k_le_n(self) -> Self:
        if self.on_frames > self.window_frames:
            raise ValueError("occupancy.on_frames must not exceed occupancy.window_frames")
        return self


class CountSettings(BaseModel):
    """People count: confirmed tracks, median-filtered, emitted after a settle time."""

    model_config = _STRICT

    median_window_s: float = Field(
        default=1.0, gt=0, description="median filter over the per-frame track count [s]"
    )
    settle_s: float = Field(
        default=2.0, ge=0, description="a new count must hold this long before it is emitted [s]"
    )


class VitalsSettings(BaseModel):
    """Breathing and heart rate of a still person (raw-ADC sources only)."""

    model_config = _STRICT

    enabled: bool = Field(
        default=True, description="estimate vital signs when raw ADC is available"
    )
    still_speed_mps: float = Field(
        default=0.2,
        gt=0,
        description="a track whose mean speed (tracking.speed_window_s) is below this is still [m/s]",
    )
    window_s: float = Field(default=30.0, gt=0, description="analysis window of chest motion [s]")
    min_window_s: float = Field(
        default=20.0, gt=0, description="still time needed before the first estimate [s]"
    )
    interval_s: float = Field(
        default=1.0, gt=0, description="time between estimates (the spectral analysis cost) [s]"
    )
    range_gate_m: float = Field(
        default=0.3, gt=0, description="half-width of the range gate around the track's range [m]"
    )
    max_range_m: float = Field(
        default=5.0, gt=0, description="range bins kept in the slow-time buffer reach this far [m]"
    )
    min_breathing_quality: float = Field(
        default=3.0,
        ge=1,
        description="breathing peak-to-band power ratio for quality 'good' (1 = no peak)",
    )
    # On 39 simulated 30 s windows (13 standing subjects, benchmarks/bench_vitals_sim.py) the one
    # estimate more than 3/min off had a ratio of 2.7; the right ones 3.4-29 (5: 34 of 39 reported).
    min_heart_quality: float = Field(
        default=5.0, ge=1, description="heart peak-to-band power ratio to report a heart rate"
    )
    min_change_per_min: float = Field(
        default=1.0,
        ge=0,
        description="a new estimate is emitted when a rate moves this much [1/min]",
    )
    breathing_band_per_min: tuple[float, float] = Field(
        default=(6.0, 30.0), description="breathing search band [1/min]"
    )
    heart_band_per_min: tuple[float, float] = Field(
        default=(45.0, 120.0), description="heart-rate search band [1/min]"
    )

    @model_validator(mode="after")
    def _windows(self) -> Self:
        if self.min_window_s > self.window_s:
            raise ValueError("vitals.min_window_s must not exceed vitals.window_s")
        return self


class PresenceSettings(BaseModel):
    """Static presence from micro-motion (raw-ADC sources; :mod:`runtime.events.presence`).

    A still person gives no Doppler points, but breathing moves the chest by millimetres: a phase
    change of radians at mmWave. The slow-time residual of the range-azimuth cells around a track
    that got no points tells a still person (held, kept alive) from furniture (phase-stable).
    """

    model_config = _STRICT

    enabled: bool = Field(
        default=True, description="check micro-motion at tracks without points (raw ADC only)"
    )
    window_s: float = Field(
        default=1.5,
        gt=0,
        description="slow-time window whose time mean is removed before the residual power is "
        "measured [s] (1-3 s: part of a breath)",
    )
    threshold_db: float = Field(
        default=10.0,
        gt=0,
        description="micro-motion SNR (residual power over the map's median, the empty-cell level) "
        "that makes presence [dB]",
    )
    dominance_db: float = Field(
        default=20.0,
        gt=0,
        description="a cell counts only within this of the strongest micro-motion at the same range "
        "(rejects the azimuth sidelobes of a stronger mover) [dB]",
    )
    gate_m: float = Field(
        default=0.4,
        gt=0,
        description="half-width of the range and cross-range window checked around a track [m]",
    )
    max_range_m: float = Field(
        default=6.0,
        gt=0,
        description="range bins kept in the slow-time buffer for presence reach this far [m]",
    )
    min_coherence: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="the height of the micro-motion (elevation from the elevated antenna row) is "
        "used only when the two rows' correlation coefficient reaches this (one mover) [1]",
    )


class FallSettings(BaseModel):
    """Fall detection from a track's height: a fast drop, then lying still for a while."""

    model_config = _STRICT

    enabled: bool = Field(default=True, description="detect falls")
    drop_from_m: float = Field(
        default=1.0, gt=0, description="the height was above this before the drop [m]"
    )
    drop_to_m: float = Field(default=0.5, gt=0, description="and fell below this [m]")
    drop_within_s: float = Field(
        default=1.5, gt=0, description="from above drop_from_m to below drop_to_m within [s]"
    )
    min_drop_speed_mps: float = Field(
        default=0.8,
        gt=0,
        description="peak downward speed of the height during the drop [m/s] (sitting down is "
        "slower)",
    )
    lying_max_height_m: float = Field(
        default=0.6, gt=0, description="lying = height below this [m]"
    )
    still_speed_mps: float = Field(
        default=0.3,
        gt=0,
        description="lying still = mean horizontal speed (tracking.speed_window_s) below this [m/s]",
    )
    confirm_s: float = Field(
        default=4.0, ge=0, description="lying still this long after the drop confirms a fall [s]"
    )
    confirm_timeout_s: float = Field(
        default=10.0, gt=0, description="a drop not confirmed within this is dropped [s]"
    )
    recovered_height_m: float = Field(
        default=0.9, gt=0, description="the person is up again above this height [m]"
    )
    recover_s: float = Field(
        default=2.0, ge=0, description="up again this long clears the fall [s]"
    )
    reset_radius_m: float = Field(
        default=1.0,
        gt=0,
        description="after the fallen track is lost, an upright track this close to the fall "
        "clears it [m]",
    )
    clear_after_lost_s: float | None = Field(
        default=None,
        gt=0,
        description="clear a fall whose track was lost after this long [s]; None = keep the "
        "alarm until someone is seen upright at the spot (safer)",
    )

    @model_validator(mode="after")
    def _heights(self) -> Self:
        if not self.drop_to_m < self.drop_from_m:
            raise ValueError("falls.drop_to_m must be below falls.drop_from_m")
        return self


class EventSettings(BaseModel):
    """Everything the event engine of one radar needs besides its chirp configuration."""

    model_config = _STRICT

    mounting: Mounting = Field(default_factory=Mounting, description="radar height and tilt")
    tracking: TrackingSettings = Field(
        default_factory=TrackingSettings, description="clustering and tracker"
    )
    occupancy: OccupancySettings = Field(
        default_factory=OccupancySettings, description="occupancy hysteresis"
    )
    zones: list[Zone] = Field(default_factory=list, description="named floor zones")
    count: CountSettings = Field(default_factory=CountSettings, description="people count")
    vitals: VitalsSettings = Field(default_factory=VitalsSettings, description="vital signs")
    presence: PresenceSettings = Field(
        default_factory=PresenceSettings, description="static presence from micro-motion"
    )
    falls: FallSettings = Field(default_factory=FallSettings, description="fall detection")
    refresh_s: float | None = Field(
        default=None,
        gt=0,
        description="re-emit occupancy, count and vitals this often even without a change [s]; "
        "None = on change only",
    )
    tracks_period_s: float | None = Field(
        default=1.0,
        gt=0,
        description="emit a 'tracks' event this often while tracks exist (and once when the "
        "last one ends) [s]; None = never (tracks stay available in state())",
    )

    @model_validator(mode="after")
    def _unique_zones(self) -> Self:
        names = [z.name for z in self.zones]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"zone names must be unique; repeated: {', '.join(dup)}")
        return self
