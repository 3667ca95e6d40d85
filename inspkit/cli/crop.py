"""``inspkit crop``: cut the product ROI out of every raw frame."""

from __future__ import annotations

from pathlib import Path

import typer

from inspkit.cli._common import WorkspaceOpt, console, open_workspace, progress, warn
from inspkit.errors import InputError


def crop(
    workspace: Path = WorkspaceOpt,
    roi: str = typer.Option(None, "--roi", help="cx,cy,h,w in frame pixels (default: the recipe's roi)."),
    margin: float = typer.Option(None, "--margin", help="Loosen the ROI by this fraction on every side, for parts that move."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a ROI that leaves the frame instead of padding it."),
    detector: str = typer.Option(None, "--detector", help="Model version of a trained detector that places each frame's ROI (parts that move)."),
    device: str = typer.Option("auto", "--device", help="With --detector: auto, cpu or cuda."),
) -> None:
    """Crop the ROI b = {cx, cy, H, W}; crops become new samples linked to their frame."""
    from inspkit.data.crop import crop_samples
    from inspkit.recipe import with_overrides

    with open_workspace(workspace) as ws:
        recipe = with_overrides(ws.recipe, {**_roi_values(roi), "roi.margin": margin})
        box = recipe.roi.to_roi()
        rois, fallback = _detected(ws, detector, recipe.roi.margin, device) if detector else ({}, [])
        total = ws.samples.count_by("parent_id").get(None, 0)
        with progress("cropping", total) as step:
            report = crop_samples(ws, box, strict, step, rois)
    warn(report.warnings)
    if detector:
        console.print(f"detector {detector} placed {len(rois)} ROIs; {len(fallback)} frames kept the recipe ROI (no confident box)")
    console.print(
        f"ROI cx={box.cx:g} cy={box.cy:g} h={box.h:g} w={box.w:g}: created [bold]{report.created}[/] crops, "
        f"{report.duplicates} already there, {report.padded} padded (ROI left the frame)"
    )


def _detected(ws, version: str, margin: float, device: str):
    from inspkit.data.crop import raw_frames
    from inspkit.errors import InputError
    from inspkit.models.inferencer import Inferencer
    from inspkit.models.locate import locate_parts

    inf = Inferencer.load(ws.root / "models", version, device)
    if inf.meta.task != "detect":
        raise InputError(f"{version} is a {inf.meta.task} model; --detector needs a detector version")
    frames = raw_frames(ws)
    with progress("locating parts", len(frames)) as step:
        found = locate_parts(ws, inf, frames, margin, inf.meta.thresholds["box"], step)
    return found.rois, found.fallback


def _roi_values(text: str | None) -> dict[str, float]:
    if text is None:
        return {}
    try:
        cx, cy, h, w = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--roi '{text}' must be four numbers cx,cy,h,w, e.g. --roi 128,128,176,176") from None
    return {"roi.cx": cx, "roi.cy": cy, "roi.h": h, "roi.w": w}


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("crop")(crop)
