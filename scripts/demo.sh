#!/usr/bin/env bash
# The data- and training-stage walkthrough on the built-in simulator (run by `make walkthrough`).
set -euo pipefail
WS=${1:-demo-ws}
RECIPE=recipes/cylinder-bonding.yaml
rm -rf "$WS" "$WS-incoming" "$WS-lineB"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a workspace for the cylinder-bonding line"
inspkit init "$WS" --recipe "$RECIPE"

step "2. collect 120 frames from the simulated camera (ground truth kept)"
inspkit collect -w "$WS" --source sim:120

step "3. a vision PC's folder, sorted by a quality engineer into ok/ and ng/<type>/"
python -m simulator.vision_folder "$WS-incoming" --product cylinder_bonding --count 40 --seed 99 --sorted
inspkit collect -w "$WS" --source "folder:$WS-incoming"
inspkit label -w "$WS" --from-folders "$WS-incoming"

step "4. label the simulated frames by the defect policy (here: their ground truth)"
inspkit label -w "$WS" --from-truth

step "5. crop the ROI, loosened by 5% because parts move a little"
inspkit crop -w "$WS" --margin 0.05

step "6. augment: perspective, colour, noise; two children per crop"
inspkit augment -w "$WS" --factor 2 --ops perspective,color,noise

step "7. look at it"
inspkit sheet -w "$WS" --source crop --out "$WS/runs/crops.png"
inspkit sheet -w "$WS" --source augment --out "$WS/runs/augmented.png"
inspkit status -w "$WS" --check

step "8. train two candidates and keep the best that fits the cycle time"
inspkit train -w "$WS" --candidates timm:resnet18,timm:mobilenetv3_small_100 --epochs 6 --image-size 64
inspkit explain -w "$WS" --doubtful 8 --out "$WS/runs/explain"

step "9. new parts arrive; review the doubtful ones (here the CSV is answered from ground truth)"
inspkit collect -w "$WS" --source sim:40 --seed 7
inspkit review -w "$WS" --export "$WS/runs/review.csv"
python -m simulator.review_fill "$WS" "$WS/runs/review.csv"
inspkit review -w "$WS" --import "$WS/runs/review.csv"

step "10. learn from the failed samples: fine-tune, or re-train when FSR > beta"
inspkit update -w "$WS"
inspkit status -w "$WS"

step "11. a second line makes the same part under other light and camera: move the model there"
inspkit init "$WS-lineB" --recipe "$RECIPE" --image-size 64
inspkit collect -w "$WS-lineB" --source sim:160 --line B
inspkit crop -w "$WS-lineB" --margin 0.05
inspkit label -w "$WS-lineB" --from-truth   # 20 of these are learned from; the rest only measure
inspkit expand --from "$WS" --to "$WS-lineB" --method dann --labels 20 --epochs 4
inspkit models list -w "$WS-lineB"

step "outputs"
echo "workspace:      $WS/ (samples.db, images/, inspkit.yaml)"
echo "contact sheets: $WS/runs/crops.png, $WS/runs/augmented.png"
echo "vision folder:  $WS-incoming/"
echo "model:          $WS/models/ (inspkit models list -w $WS)"
echo "heatmaps:       $WS/runs/explain/"
echo "review:         $WS/runs/review.csv (or: inspkit review -w $WS --serve)"
echo "line B:         $WS-lineB/ (the expanded model and its checkpoints: $WS-lineB/runs/expand-*/)"
