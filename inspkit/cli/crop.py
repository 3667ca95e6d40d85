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
) -> None:
    """Crop the ROI b = {cx, cy, H, W}; crops become new samples linked to their frame."""
    from inspkit.data.crop import crop_samples
    from inspkit.recipe import with_overrides

    with open_workspace(workspace) as ws:
        recipe = with_overrides(ws.recipe, {**_roi_values(roi), "roi.margin": margin})
        box = recipe.roi.to_roi()
        total = ws.samples.count_by("parent_id").get(None, 0)
        with progress("cropping", total) as step:
            report = crop_samples(ws, box, strict, step)
    warn(report.warnings)
    console.print(
        f"ROI cx={box.cx:g} cy={box.cy:g} h={box.h:g} w={box.w:g}: created [bold]{report.created}[/] crops, "
        f"{report.duplicates} already there, {report.padded} padded (ROI left the frame)"
    )


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
