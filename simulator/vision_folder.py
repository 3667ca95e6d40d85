"""A vision PC that saves its frames into a folder, as old inspection stations do.

``python -m simulator.vision_folder DIR --product cylinder_bonding --count 40``
writes PNG frames named by part serial; with ``--sorted`` they go into
``ok/`` and ``ng/<defect_type>/`` (a labelled set, as a quality engineer
would sort them). Files appear atomically (written aside, then renamed).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2

from simulator.products import create_product, generate


def write_frames(folder: Path, product_name: str, count: int, seed: int, sorted_by_label: bool) -> list[Path]:
    """Write ``count`` frames of a product into ``folder``; returns their paths."""
    product = create_product(product_name)
    paths = []
    for index in range(count):
        frame = generate(product, seed, index)
        sub = Path()
        if sorted_by_label:
            sub = Path("ok") if frame.label == "OK" else Path("ng", frame.defect_type or "")
        if product.label_kind == "multiclass" and sorted_by_label:
            sub = Path(frame.label)
        path = folder / sub / f"{product_name}-{seed}-{index:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part.png")
        cv2.imwrite(str(tmp), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
        os.replace(tmp, path)
        paths.append(path)
    return paths


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--product", default="cylinder_bonding")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sorted", action="store_true", help="Sort into ok/ and ng/<type>/ folders.")
    args = parser.parse_args()
    paths = write_frames(args.folder, args.product, args.count, args.seed, args.sorted)
    print(f"wrote {len(paths)} frames to {args.folder}")


if __name__ == "__main__":
    main()
