"""The report's model-maintenance section: review load, updates, promotions, compute."""

from __future__ import annotations

from collections.abc import Sequence

from inspkit.recipe_line import ManageSpec
from simulator.metrics import DayRow, UpdateEvent

#: Update events listed in the report; the rest are in updates.csv.
MAX_LISTED = 30
KIND_NAMES = {"finetune": "fine-tunes", "retrain": "re-trains"}


def maintenance_section(rows: Sequence[DayRow], policy: str, updates: Sequence[UpdateEvent],
                        manage: ManageSpec | None) -> list[str]:
    """The section's Markdown lines; a run without maintenance gets one line saying so."""
    lines = ["## Model maintenance", ""]
    if policy == "none":
        return lines + ["No maintenance (policy `none`): the model was never reviewed or updated."]
    lines.append(_settings(policy, manage))
    lines += ["", _review_load(rows), ""]
    lines += _update_table(updates)
    lines += ["", *_listing(updates)]
    return lines


def _settings(policy: str, manage: ManageSpec | None) -> str:
    if manage is None:
        return f"Policy **{policy}**."
    m = manage
    return (f"Policy **{policy}**: parts with |p − 0.5| ≤ {m.alpha:g} reviewed (reviewer error {m.reviewer_error:g}, "
            f"CAM-on-target threshold {m.cam_threshold:g}); slots of {m.slot_days:g} day(s); β = {m.beta:g} "
            f"(fsr and replay re-train when FSR exceeds it); re-trains reach the line {m.retrain_days:g} day(s) "
            f"after they are decided; a version is promoted when it is at most {m.promote_tolerance:g} below the line's model "
            "on the test split and on the failed samples.")


def _review_load(rows: Sequence[DayRow]) -> str:
    work = [r for r in rows if r.parts > 0 and r.reviewed is not None]
    reviewed = sum(r.reviewed or 0 for r in work)
    failed = sum(r.failed or 0 for r in work)
    if not work:
        return "Review load: no working day was reviewed."
    peak = max(r.reviewed or 0 for r in work)
    share = f" ({failed / reviewed:.1%} of them)" if reviewed else ""
    return (f"Review load: {reviewed:,} parts reviewed over {len(work)} working days, "
            f"{reviewed / len(work):.1f} per day on average, at most {peak} in a day; "
            f"{failed:,} failed review{share}. Per day: `reviewed`, `failed` and `fsr` in metrics.csv.")


def _update_table(updates: Sequence[UpdateEvent]) -> list[str]:
    lines = ["| update | count | promoted | rejected | CPU s | wall s | images trained |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, name in KIND_NAMES.items():
        of_kind = [u for u in updates if u.kind == kind]
        promoted = sum(u.promoted for u in of_kind)
        lines.append(f"| {name} | {len(of_kind)} | {promoted} | {len(of_kind) - promoted} | "
                     f"{sum(u.cpu_s for u in of_kind):.1f} | {sum(u.wall_s for u in of_kind):.1f} | "
                     f"{sum(u.samples for u in of_kind):,} |")
    last = [u.version for u in updates if u.promoted]
    lines += ["", f"The line ends on model **{last[-1]}**." if last else "No update was promoted."]
    return lines


def _listing(updates: Sequence[UpdateEvent]) -> list[str]:
    if not updates:
        return ["No update was made."]
    lines = ["| day | update | version | FSR | samples | wall s | outcome |", "|---:|---|---|---:|---:|---:|---|"]
    for u in updates[:MAX_LISTED]:
        lines.append(f"| {u.day} | {u.kind} | {u.version} | {u.fsr:.3f} | {u.samples} | {u.wall_s:.1f} | {u.reason} |")
    if len(updates) > MAX_LISTED:
        lines += ["", f"… and {len(updates) - MAX_LISTED} more in updates.csv."]
    return lines
