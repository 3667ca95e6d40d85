"""Recipes: typed, frozen descriptions of a product family and its line.

A recipe is loaded from YAML into frozen dataclasses. Values resolve as
defaults ← YAML ← CLI flags (:func:`with_overrides`); every key is checked
against the dataclass fields (an unknown key is an error naming the valid
ones) and every numeric range is checked in one place, :data:`RANGES`.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from inspkit.errors import InputError, RecipeError
from inspkit.recipe_augment import AugmentRanges
from inspkit.recipe_line import (
    ConnectSpec, DriftSpec, ManageSpec, OtherLine, SimulateSpec, check_line_sections,
)
from inspkit.recipe_load import build_dataclass, plain
from inspkit.types import Appearance, Roi


class Task(str, enum.Enum):
    """What the model does: classify the whole part, or detect local defects."""

    CLASSIFY = "classify"
    DETECT = "detect"


class LabelKind(str, enum.Enum):
    """How samples are labelled: OK/NG with defect types, or one of N classes."""

    OK_NG = "ok-ng"
    MULTICLASS = "multiclass"


@dataclass(frozen=True)
class ProductSpec:
    """The synthetic product that stands in for the line's camera.

    Attributes:
        generator: Registry name in ``simulator.products``.
        frame_h: Raw camera frame height in pixels.
        frame_w: Raw camera frame width in pixels.
        defect_rate: Share of defective parts (ok-ng products).
        appearance: Nominal appearance of the station.
    """

    generator: str
    frame_h: int = 256
    frame_w: int = 256
    defect_rate: float = 0.5
    appearance: Appearance = field(default_factory=Appearance)


@dataclass(frozen=True)
class RoiSpec:
    """The product ROI ``b = {cx, cy, H, W}`` in raw-frame pixels.

    Attributes:
        cx: Centre x. cy: Centre y. h: Height. w: Width.
        margin: Loosening on every side, as a fraction of the size; 0 is a
            strict ROI for parts that sit still in a jig.
    """

    cx: float
    cy: float
    h: float
    w: float
    margin: float = 0.0

    def to_roi(self) -> Roi:
        """The ROI with the margin applied."""
        return Roi(self.cx, self.cy, self.h, self.w).loosened(self.margin)


@dataclass(frozen=True)
class StorageLimits:
    """Free-disk thresholds for the storage guard, in GB (10^9 bytes)."""

    warn_free_gb: float = 5.0
    min_free_gb: float = 1.0


@dataclass(frozen=True)
class LineSpec:
    """Where images come from.

    Attributes:
        line: Line id recorded with each sample.
        station: Station id recorded with each sample.
        cycle_time_ms: Time between two parts; the inspection budget.
    """

    line: str = "L1"
    station: str = "S1"
    cycle_time_ms: float = 2000.0


@dataclass(frozen=True)
class TrainSpec:
    """How models are trained and chosen (paper 3.1.3, 5.1–5.2).

    Attributes:
        candidates: Registry names to compare, e.g. ``timm:resnet18``, ``yolo:yolov8n``.
        epochs: Training epochs per candidate.
        batch_size: Images per step.
        lr: Learning rate (AdamW).
        weight_decay: AdamW weight decay.
        repeats: Seeds per candidate; the table shows mean ± std.
        val_fraction: Share of labelled frames in the validation split.
        test_fraction: Share in the test split (made once, then fixed).
        ok_threshold: Classifier says OK when p(OK) ≥ this (the paper: 0.5).
        box_confidence: Detector says NG when a box has confidence ≥ this (the paper: 0.8).
        latency_runs: Timed forward passes for the latency p50/p99.
    """

    candidates: tuple[str, ...] = ("timm:resnet18",)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    repeats: int = 1
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    ok_threshold: float = 0.5
    box_confidence: float = 0.8
    latency_runs: int = 50


@dataclass(frozen=True)
class Recipe:
    """Everything inspkit needs to know about one product family.

    Attributes:
        name: Recipe name.
        product: Synthetic product generator and appearance.
        roi: Product ROI in the raw frame.
        taxonomy: Defect types (ok-ng) or class names (multiclass), each
            with its one-line written policy.
        task: Classifier or detector.
        labels: OK/NG or multiclass labelling.
        image_size: Side of the square model input, in pixels.
        line: Line and station ids, cycle time.
        augment: Augmentation ranges.
        storage: Storage-guard limits.
        train: Training and model selection.
        connect: How the edge model joins the line (goal, PLC register map).
        drift: What changes on the line over the days.
        simulate: The simulated line.
        manage: Review and update settings (α, β, time slot).
        lines: Other lines of the same product, by line id, each with its
            domain gap from the main line (``line.line``).
        seed: Default seed for anything random.
    """

    name: str
    product: ProductSpec
    roi: RoiSpec
    taxonomy: dict[str, str]
    task: Task = Task.CLASSIFY
    labels: LabelKind = LabelKind.OK_NG
    image_size: int = 224
    line: LineSpec = field(default_factory=LineSpec)
    augment: AugmentRanges = field(default_factory=AugmentRanges)
    storage: StorageLimits = field(default_factory=StorageLimits)
    train: TrainSpec = field(default_factory=TrainSpec)
    connect: ConnectSpec = field(default_factory=ConnectSpec)
    drift: DriftSpec = field(default_factory=DriftSpec)
    simulate: SimulateSpec = field(default_factory=SimulateSpec)
    manage: ManageSpec = field(default_factory=ManageSpec)
    lines: dict[str, OtherLine] = field(default_factory=dict)
    seed: int = 0

    def label_names(self) -> tuple[str, ...]:
        """The values a sample's label may take."""
        if self.labels is LabelKind.MULTICLASS:
            return tuple(self.taxonomy)
        return ("OK", "NG")

    def for_line(self, line_id: str | None) -> Recipe:
        """This recipe as seen on line ``line_id``: its ids, station and appearance.

        None or the main line's id gives the recipe itself.

        Raises:
            InputError: ``line_id`` is neither the main line nor one of ``lines``.
        """
        if line_id is None or line_id == self.line.line:
            return self
        other = self.lines.get(line_id)
        if other is None:
            known = ", ".join([f"{self.line.line} (main)", *self.lines])
            raise InputError(f"line {line_id!r} is not in the recipe; known lines: {known}")
        appearance = other.resolved(self.product.appearance)
        station = self.line.station if other.station is None else other.station
        return dataclasses.replace(
            self, product=dataclasses.replace(self.product, appearance=appearance),
            line=dataclasses.replace(self.line, line=line_id, station=station))


# Every numeric range, in one place: dotted path -> (lowest, highest), inclusive.
RANGES: dict[str, tuple[float, float]] = {
    "image_size": (8, 4096),
    "seed": (0, 2**32 - 1),
    "product.frame_h": (16, 8192),
    "product.frame_w": (16, 8192),
    "product.defect_rate": (0.0, 1.0),
    "product.appearance.illum_gain": (0.05, 10.0),
    "product.appearance.gamma": (0.1, 10.0),
    "product.appearance.position_jitter_px": (0.0, 1000.0),
    "product.appearance.scale": (0.1, 10.0),
    "product.appearance.blur_sigma": (0.0, 50.0),
    "product.appearance.noise_sigma": (0.0, 128.0),
    "product.appearance.tilt_deg": (-30.0, 30.0),
    "roi.h": (1, 8192),
    "roi.w": (1, 8192),
    "roi.margin": (0.0, 2.0),
    "line.cycle_time_ms": (1.0, 3_600_000.0),
    "augment.factor": (1, 1000),
    "augment.perspective.max_corner_shift": (0.0, 0.24),
    "augment.color.rgb_shift": (0.0, 255.0),
    "augment.color.hue_deg": (0.0, 180.0),
    "augment.color.saturation": (0.0, 1.0),
    "augment.color.value": (0.0, 1.0),
    "augment.color.contrast": (0.0, 1.0),
    "augment.noise.salt_pepper": (0.0, 0.5),
    "augment.noise.gaussian_sigma": (0.0, 128.0),
    "augment.noise.poisson_peak": (0.0, 1e6),
    "train.epochs": (1, 10_000),
    "train.batch_size": (1, 4096),
    "train.lr": (1e-8, 10.0),
    "train.weight_decay": (0.0, 1.0),
    "train.repeats": (1, 100),
    "train.val_fraction": (0.0, 0.5),
    "train.test_fraction": (0.0, 0.5),
    "train.ok_threshold": (0.0, 1.0),
    "train.box_confidence": (0.0, 1.0),
    "train.latency_runs": (5, 100_000),
    "storage.warn_free_gb": (0.0, 1e6),
    "storage.min_free_gb": (0.0, 1e6),
    "simulate.days": (1, 36_500),
    "simulate.parts_per_day": (1, 10_000_000),
    "simulate.defect_rate": (0.0, 1.0),
    "simulate.work_days_per_week": (1, 7),
    "simulate.setup_days": (1, 3650),
    "simulate.setup_images": (4, 100_000),
    "simulate.vision_tuning_parts": (10, 1_000_000),
    "simulate.image_size": (0, 4096),
    "simulate.augment_factor": (0, 1000),
    "simulate.epochs": (0, 10_000),
    "simulate.vision_ms": (0.0, 3_600_000.0),
    "simulate.edge_ms": (0.0, 3_600_000.0),
    "simulate.batch": (1, 4096),
    "connect.deadline_ms": (0.0, 3_600_000.0),
    "connect.plc_budget_ms": (0.0, 60_000.0),
    "manage.alpha": (0.0, 0.5),
    "manage.beta": (0.001, 1.0),
    "manage.slot_days": (0.01, 3650.0),
    "manage.finetune_epochs": (1, 10_000),
    "manage.finetune_lr": (1e-9, 1.0),
    "manage.replay_size": (0, 1_000_000),
    "manage.reviewer_error": (0.0, 1.0),
    "manage.cam_threshold": (0.0, 1.0),
    "manage.retrain_days": (0.0, 365.0),
    "manage.promote_tolerance": (0.0, 1.0),
}


def load_recipe(path: str | Path) -> Recipe:
    """Load and validate a recipe file.

    Raises:
        RecipeError: the file is missing or malformed, has an unknown key,
            a missing key, a value of the wrong type or out of range.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"recipe {path} not found; give a YAML file such as recipes/cylinder-bonding.yaml") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RecipeError(f"recipe {path} cannot be read as YAML: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a YAML mapping of keys to values")
    return recipe_from_dict(data, source=str(path))


def recipe_from_dict(data: dict[str, Any], source: str = "recipe") -> Recipe:
    """Build and validate a :class:`Recipe` from plain data."""
    try:
        recipe = build_dataclass(Recipe, data, "")
    except RecipeError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    _validate(recipe, source)
    return recipe


def with_overrides(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    """Apply CLI-flag values (dotted paths) on top of a recipe; ``None`` keeps the recipe's."""
    data = recipe_to_dict(recipe)
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value.value if isinstance(value, enum.Enum) else value
    return recipe_from_dict(data, source="recipe with command-line values")


def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    """Plain data (enums as values, tuples as lists) that :func:`recipe_from_dict` reads back."""
    return plain(dataclasses.asdict(recipe))


def dump_recipe(recipe: Recipe) -> str:
    """The resolved recipe as YAML text."""
    return yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False)


def _validate(recipe: Recipe, source: str) -> None:
    """Check every range in :data:`RANGES` and the few rules between fields."""
    for dotted, (low, high) in RANGES.items():
        value = _get(recipe, dotted)
        if not low <= value <= high:
            raise RecipeError(f"{source}: '{dotted}' is {value}; expected {low} to {high}")
    if recipe.storage.min_free_gb > recipe.storage.warn_free_gb:
        raise RecipeError(f"{source}: 'storage.min_free_gb' must not exceed 'storage.warn_free_gb'")
    if not recipe.train.candidates:
        raise RecipeError(f"{source}: 'train.candidates' must name at least one model, e.g. timm:resnet18")
    if not recipe.simulate.shifts:
        raise RecipeError(f"{source}: 'simulate.shifts' must name at least one shift, e.g. 06:00-14:00")
    defect_types = tuple(recipe.taxonomy) if recipe.labels is LabelKind.OK_NG else ()
    try:
        check_line_sections(recipe.connect, recipe.drift, recipe.simulate, defect_types,
                            recipe.line.cycle_time_ms)
    except ValueError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    for name in recipe.taxonomy:
        if name in ("OK", "NG") and recipe.labels is LabelKind.OK_NG:
            raise RecipeError(f"{source}: defect type '{name}' clashes with the OK/NG labels; rename it")
    _check_lines(recipe, source)


def _check_lines(recipe: Recipe, source: str) -> None:
    """Other lines: not the main line again, and their appearance within the ranges."""
    prefix = "product.appearance."
    for line_id, other in recipe.lines.items():
        where = f"lines.{line_id}"
        if line_id == recipe.line.line:
            raise RecipeError(f"{source}: '{where}' redefines the main line (line.line); "
                              f"give the other line another id")
        try:
            appearance = other.resolved(recipe.product.appearance)
        except ValueError as exc:
            raise RecipeError(f"{source}: '{where}.appearance': {exc}") from None
        for dotted, (low, high) in RANGES.items():
            if dotted.startswith(prefix):
                value = getattr(appearance, dotted[len(prefix):])
                if not low <= value <= high:
                    key = f"{where}.appearance.{dotted[len(prefix):]}"
                    raise RecipeError(f"{source}: '{key}' is {value}; expected {low} to {high}")


def _get(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        obj = getattr(obj, key)
    return obj


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
