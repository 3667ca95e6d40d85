"""The model side of the line's managing stage, with torch: CAM scores, fine-tune, re-train, promote.

Only ``inspkit simulate`` builds one (with the workspace's training and test
tensors), so the line model never imports this module; torch is imported
inside the functions all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from inspkit.models.dataset import Tensors
from inspkit.models.engine import FitConfig
from simulator.maintainer import Candidate, Labelled, Scores


class TorchLearner:
    """Trains and swaps the versions of the line's model inspector.

    Args:
        adapter: The line's model inspector; it has ``inferencer`` (an inspkit
            ``Inferencer``), ``version`` and ``swap(inferencer)``.
        train: D, the first model's training set (prepared uint8 images, class indices).
        test: The fixed test split that every candidate is judged on.
        finetune_cfg: Fine-tune settings (the manage section's epochs and small learning rate).
        retrain_cfg: Re-train settings (the first model's epochs and learning rate).
    """

    def __init__(self, adapter: Any, train: Tensors, test: Tensors, finetune_cfg: FitConfig,
                 retrain_cfg: FitConfig) -> None:
        inferencer = adapter.inferencer
        self.adapter, self.meta, self.model, self.device = adapter, inferencer.meta, inferencer.model, inferencer.device
        self.train, self.test = train, test
        self.finetune_cfg, self.retrain_cfg = finetune_cfg, retrain_cfg
        self._test_accuracy: dict[str, float | None] = {}  # version → its test accuracy (scored once)

    @property
    def version(self) -> str:
        """The line's model version."""
        return self.adapter.version

    @property
    def input_size(self) -> int:
        """Side of the model's square input."""
        return self.meta.input_size

    @property
    def roi(self) -> Any:
        """The ROI the model crops from a frame."""
        return self.meta.roi

    @property
    def base_size(self) -> int:
        """|D| of the first model."""
        return len(self.train)

    def base_samples(self) -> list[Labelled]:
        """D as samples, for the replay reservoir."""
        images = self.train.x.permute(0, 2, 3, 1).numpy()
        return [Labelled(f"d{i:06d}", images[i], self.meta.classes[int(y)])
                for i, y in enumerate(self.train.y.tolist())]

    def cam_scores(self, images: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                   predicted: Sequence[str]) -> np.ndarray:
        """Batched CAM-on-target shares of each image's predicted class."""
        from inspkit.maintain.camscore import cam_scores
        from inspkit.models.preprocess import stack_uint8

        index = [self.meta.classes.index(p) for p in predicted]
        return cam_scores(self.model, stack_uint8(list(images)), index, np.stack(targets),
                          self.meta.architecture, self.device)

    def finetune(self, samples: Sequence[Labelled], seed: int) -> Candidate:
        """A copy of the line's model adjusted on ``samples`` (Eq. 9)."""
        from inspkit.maintain.trainer import finetune

        model, compute = finetune(self.model, self._tensors(samples), replace(self.finetune_cfg, seed=seed))
        return Candidate(model.eval(), compute.cpu_s, compute.wall_s, len(samples))

    def retrain(self, added: Sequence[Labelled], seed: int) -> Candidate:
        """A model of the same architecture trained from scratch on D ∪ ``added`` (Eq. 11–12)."""
        from inspkit.maintain.trainer import join, retrain

        data = join(self.train, self._tensors(added)) if added else self.train
        model, compute = retrain(self.meta.architecture, len(self.meta.classes), data,
                                 replace(self.retrain_cfg, seed=seed))
        return Candidate(model.eval(), compute.cpu_s, compute.wall_s, len(data))

    def scores(self, candidate: Candidate | None, samples: Sequence[Labelled]) -> Scores:
        """Accuracy on the test split (the line's model: scored once per version) and on ``samples``."""
        model = self.model if candidate is None else candidate.model
        if candidate is None:
            if self.version not in self._test_accuracy:
                self._test_accuracy[self.version] = self._accuracy(model, self.test)
            test = self._test_accuracy[self.version]
        else:
            test = self._accuracy(model, self.test)
        return Scores(test, self._accuracy(model, self._tensors(samples)) if samples else None)

    def promote(self, candidate: Candidate, version: str) -> None:
        """Make ``candidate`` the line's model as ``version`` (the line's chunks then recompute)."""
        from inspkit.models.inferencer import Inferencer

        self.model = candidate.model
        self.meta = replace(self.meta, version=version, parent=self.meta.version)
        self.adapter.swap(Inferencer(self.meta, self.model, self.device))

    def _accuracy(self, model: Any, data: Tensors) -> float | None:
        from inspkit.models.engine import predict_probs

        if not len(data):
            return None
        probs = predict_probs(model, data.x, self.device, self.retrain_cfg.batch_size)
        ok = self.meta.classes.index("OK")
        # The line's rule (the inferencer's): OK when p(OK) reaches the threshold.
        said = np.where(probs[:, ok] >= self.meta.thresholds.get("ok", 0.5), ok, 1 - ok)
        return float((said == data.y.numpy()).mean())

    def _tensors(self, samples: Sequence[Labelled]) -> Tensors:
        import torch

        from inspkit.models.preprocess import stack_uint8

        if not samples:
            size = self.meta.input_size
            return Tensors(torch.zeros((0, 3, size, size), dtype=torch.uint8), torch.zeros(0, dtype=torch.int64))
        y = torch.tensor([self.meta.classes.index(s.label) for s in samples], dtype=torch.int64)
        return Tensors(stack_uint8([s.image for s in samples]), y)
