"""Recipe sections about the running line: the connection, the PLC map, drift, simulation.

Kept apart from ``recipe.py`` so that ``inspkit.connect`` and the simulator can
read these values without the YAML loader.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field, fields, make_dataclass, replace

from inspkit.types import Appearance, Goal

#: Appearance values that drift may move, with how many numbers each takes.
DRIFTABLE: dict[str, int] = {
    "illum_gain": 1, "illum_offset": 1, "gamma": 1, "color_cast": 3,
    "position_jitter_px": 1, "rotation_jitter_deg": 1, "position_offset_px": 2,
    "scale": 1, "blur_sigma": 1, "noise_sigma": 1, "material_color": 3, "background": 3,
    "tilt_deg": 1,
}
assert set(DRIFTABLE) == {f.name for f in fields(Appearance)}


def _appearance_change_fields() -> list[tuple[str, object, object]]:
    hints = typing.get_type_hints(Appearance)
    return [(f.name, hints[f.name] | None, field(default=None)) for f in fields(Appearance)]


#: Appearance values another line sets: every field of :class:`Appearance`,
#: each None (the default) where the line looks like the main line.
AppearanceChange = make_dataclass("AppearanceChange", _appearance_change_fields(), frozen=True)
AppearanceChange.__doc__ = "Appearance values another line changes; None keeps the main line's."


@dataclass(frozen=True)
class OtherLine:
    """Another line making the same product, with its domain gap (paper 3.2.2).

    Attributes:
        station: Station id recorded with its samples (None: the main line's).
        appearance: The values that differ from the main line's
            ``product.appearance`` (lighting, camera position and tilt, material colour…).
    """

    station: str | None = None
    appearance: AppearanceChange = field(default_factory=AppearanceChange)

    def resolved(self, base: Appearance) -> Appearance:
        """The line's appearance: ``base`` with this line's values put in.

        Raises:
            ValueError: the values make no valid appearance (e.g. scale <= 0).
        """
        changes = {f.name: getattr(self.appearance, f.name) for f in fields(self.appearance)}
        return replace(base, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class RegisterMap:
    """PLC holding-register addresses of the edge ↔ PLC handshake.

    The PLC raises ``trigger`` when a part is at the camera and shows ``ready``
    when it can take a result; the edge writes ``verdict`` (1 = OK, 0 = NG, the
    paper's coding), ``error``, the part's ``sequence`` number and then
    ``result_ready``; the PLC answers by copying the sequence into ``ack``.
    A result rewritten with the same sequence number changes nothing.
    """

    trigger: int = 0
    ready: int = 1
    result_ready: int = 2
    ack: int = 3
    verdict: int = 4
    error: int = 5
    sequence: int = 6

    def addresses(self) -> dict[str, int]:
        """Register name → address."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FailSafe(str, enum.Enum):
    """What a part gets when the model cannot answer in time: never an uninspected OK."""

    VISION = "vision"
    NG = "NG"


@dataclass(frozen=True)
class ConnectSpec:
    """How the edge model joins the line (paper 3.2.1).

    Attributes:
        goal: fp-reduction, tp-improvement or replacement.
        plc: The PLC register map.
        shadow: The validation period: the model's verdicts are recorded, the
            vision station's drive the PLC (``inspkit connect --shadow``).
        fail_safe: The verdict a part gets when the model cannot answer in time:
            ``vision`` (the legacy station's verdict; NG where it gave none) or ``NG``.
        deadline_ms: Time from a frame's arrival to its final verdict at the PLC
            (0: the line's ``cycle_time_ms``).
        plc_budget_ms: The part of the deadline kept for the PLC write; the
            model must answer before ``deadline_ms - plc_budget_ms``.
        keep_samples: Keep every inspected image, with its prediction, in the
            workspace for review (within the storage guard).
    """

    goal: Goal = Goal.REPLACEMENT
    plc: RegisterMap = field(default_factory=RegisterMap)
    shadow: bool = False
    fail_safe: FailSafe = FailSafe.NG
    deadline_ms: float = 0.0
    plc_budget_ms: float = 100.0
    keep_samples: bool = True


@dataclass(frozen=True)
class Ramp:
    """A gradual drift: ``param`` moves linearly by ``by`` between two days.

    Attributes:
        param: An appearance value (see :data:`DRIFTABLE`).
        by: The total change, one number (or 2 / 3 for offsets and colours).
        start_day: When the change starts.
        end_day: When it is complete; the value then stays.
    """

    param: str
    by: tuple[float, ...]
    start_day: float = 0.0
    end_day: float = 730.0


@dataclass(frozen=True)
class DriftEvent:
    """An abrupt change on ``day``, such as a camera replaced or a new defect subtype.

    Attributes:
        day: When it happens.
        name: What happened, shown on the report's plots.
        set: Appearance values that jump to a new level (the ramps go on from there).
        add_defects: Defect types that first appear on this day (absent before).
    """

    day: float
    name: str = "event"
    set: dict[str, tuple[float, ...]] = field(default_factory=dict)
    add_defects: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatePoint:
    """The line's defect rate on ``day``; rates between points are interpolated."""

    day: float
    rate: float


@dataclass(frozen=True)
class DriftSpec:
    """What changes on the line over the days.

    Attributes:
        ramps: Gradual changes (illumination, material colour, focus, position).
        events: Abrupt changes.
        defect_rate: Defect rate per day (empty: ``simulate.defect_rate`` throughout).
    """

    ramps: tuple[Ramp, ...] = ()
    events: tuple[DriftEvent, ...] = ()
    defect_rate: tuple[RatePoint, ...] = ()


@dataclass(frozen=True)
class SimulateSpec:
    """The simulated line (``inspkit simulate``).

    Attributes:
        days: Simulated days.
        parts_per_day: Parts made per working day, at the cycle time from each shift's start.
        defect_rate: Share of defective parts when ``drift.defect_rate`` is empty.
        shifts: Working hours per day, ``"HH:MM-HH:MM"``.
        work_days_per_week: Working days from Monday (day 0 is a Monday).
        setup_days: The period before go-live whose parts tune the vision station
            and train the first model.
        setup_images: Labelled images (half OK, half NG) for the first model (the paper: 60).
        vision_tuning_parts: Set-up parts the legacy vision station is tuned on.
        model: Architecture of the first model ("" = the first training candidate).
        image_size: Input side of the first model (0 = the recipe's ``image_size``).
        augment_factor: Augmented children per set-up image for the first model
            (0 = the recipe's ``augment.factor``).
        epochs: Training epochs of the first model (0 = the recipe's ``train.epochs``).
        vision_ms: Mean time the vision station takes to shoot and inspect a part.
        edge_ms: Time the edge computer takes to answer for a part.
        batch: Frames rendered and inspected together (a speed setting only).
    """

    days: int = 730
    parts_per_day: int = 240
    defect_rate: float = 0.08
    shifts: tuple[str, ...] = ("06:00-14:00", "14:00-22:00")
    work_days_per_week: int = 5
    setup_days: int = 60
    setup_images: int = 60
    vision_tuning_parts: int = 300
    model: str = ""
    image_size: int = 0
    augment_factor: int = 0
    epochs: int = 0
    vision_ms: float = 400.0
    edge_ms: float = 40.0
    batch: int = 64


@dataclass(frozen=True)
class ManageSpec:
    """The managing stage (paper 3.3.2).

    Attributes:
        alpha: Unreliable samples have ``|p − 0.5| ≤ alpha`` (Eq. 5); 0.5, the
            paper's value, selects every sample.
        beta: Re-train when FSR = |∪ D̄(t)| / |D| exceeds this (Eq. 10–11; the paper: 0.2).
        slot_days: Length of a time slot t over which failed samples D̄(t) are collected.
        policy: How the model is updated (``inspkit.maintain.policy``): none,
            ft-only, wt-only, ft-K, fsr or replay.
        finetune_epochs: Passes over D̄(t) in one fine-tune (Eq. 9).
        finetune_lr: The fine-tune's small learning rate μ (Eq. 9).
        replay_size: Earlier samples kept in the reservoir that the ``replay``
            policy mixes into every fine-tune.
        reviewer_error: Simulated reviewer: chance of a wrong stage-1 answer.
        cam_threshold: Stage 2: a CAM-on-target share below this is "Training FAIL".
        retrain_days: Simulated line: days from a re-train request until the
            main server's new version reaches the edge.
        promote_tolerance: A new version is promoted when its accuracy on the
            test split and on the failed samples is at most this much below the
            current one's (0: not worse at all).
    """

    alpha: float = 0.5
    beta: float = 0.2
    slot_days: float = 2.0
    policy: str = "none"
    finetune_epochs: int = 5
    finetune_lr: float = 1e-4
    replay_size: int = 60
    reviewer_error: float = 0.0
    cam_threshold: float = 0.3
    retrain_days: float = 1.0
    promote_tolerance: float = 0.0


def shift_seconds(shift: str) -> tuple[float, float]:
    """``"06:00-14:00"`` → (21600.0, 50400.0), seconds after midnight.

    Raises:
        ValueError: not ``HH:MM-HH:MM`` within one day, or ending before it starts.
    """
    try:
        start, end = (_clock_s(t) for t in shift.split("-"))
    except (ValueError, TypeError):
        raise ValueError(f"shift {shift!r} is not HH:MM-HH:MM") from None
    if not 0 <= start < end <= 86400:
        raise ValueError(f"shift {shift!r} must start before it ends, within one day")
    return start, end


def _clock_s(text: str) -> float:
    hours, minutes = text.strip().split(":")
    if not (hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        raise ValueError(text)
    return int(hours) * 3600.0 + int(minutes) * 60.0


def check_line_sections(connect: ConnectSpec, drift: DriftSpec, simulate: SimulateSpec,
                        defect_types: tuple[str, ...], cycle_time_ms: float) -> None:
    """The rules between fields of these sections that plain ranges cannot say.

    Raises:
        ValueError: the first problem, naming the key and what is expected.
    """
    _check_registers(connect.plc)
    for i, ramp in enumerate(drift.ramps):
        _check_param(f"drift.ramps[{i}]", ramp.param, ramp.by)
        if ramp.end_day <= ramp.start_day:
            raise ValueError(f"'drift.ramps[{i}]': end_day must come after start_day")
    for i, event in enumerate(drift.events):
        for param, value in event.set.items():
            _check_param(f"drift.events[{i}].set", param, value)
        unknown = [d for d in event.add_defects if d not in defect_types]
        if unknown:
            raise ValueError(f"'drift.events[{i}].add_defects' names {unknown[0]!r}; "
                             f"expected defect types of the taxonomy: {', '.join(defect_types)}")
    _check_rates(drift.defect_rate)
    _check_shifts(simulate, cycle_time_ms)


def _check_param(where: str, param: str, value: tuple[float, ...]) -> None:
    if param not in DRIFTABLE:
        raise ValueError(f"'{where}' drifts unknown parameter {param!r}; expected one of: {', '.join(DRIFTABLE)}")
    if len(value) != DRIFTABLE[param]:
        raise ValueError(f"'{where}': {param} takes {DRIFTABLE[param]} number(s), got {list(value)}")


def _check_registers(regmap: RegisterMap) -> None:
    addresses = regmap.addresses()
    if len(set(addresses.values())) != len(addresses):
        raise ValueError(f"'connect.plc' register addresses must be distinct, got {addresses}")
    if not all(0 <= a <= 65535 for a in addresses.values()):
        raise ValueError(f"'connect.plc' register addresses must be 0..65535, got {addresses}")


def _check_rates(points: tuple[RatePoint, ...]) -> None:
    days = [p.day for p in points]
    if days != sorted(days):
        raise ValueError("'drift.defect_rate' points must be in day order")
    if not all(0.0 <= p.rate <= 1.0 for p in points):
        raise ValueError("'drift.defect_rate' rates must be between 0 and 1")


def _check_shifts(simulate: SimulateSpec, cycle_time_ms: float) -> None:
    spans = sorted(shift_seconds(s) for s in simulate.shifts)
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        raise ValueError(f"'simulate.shifts' overlap: {list(simulate.shifts)}")
    open_h = sum(end - start for start, end in spans) / 3600
    need_h = simulate.parts_per_day * cycle_time_ms / 3.6e6
    # A part is made within one shift, so each shift holds a whole number of cycles.
    capacity = sum(int((end - start) * 1000 // cycle_time_ms) for start, end in spans)
    if simulate.parts_per_day > capacity:
        raise ValueError(f"'simulate.parts_per_day' {simulate.parts_per_day} at a {cycle_time_ms:g} ms cycle "
                         f"needs {need_h:.1f} h a day but the shifts give {open_h:.1f} h "
                         f"({capacity} parts); make fewer parts or add shifts")
