"""Update policies: when to fine-tune on D̄(t) and when to re-train on D ∪ ∪ D̄(t).

The paper compares fine-tuning only, whole re-training only, and one re-train
every k fine-tunes (its "fine-tuning parameter"), and settles on re-training
when FSR exceeds β (section 5.3, Fig. 10). ``replay`` is ours: fine-tuning
with a reservoir of earlier samples mixed in, to resist forgetting at
fine-tuning cost. A policy is a pure decision on the state below; the workspace
(``inspkit update``), the paper protocol and the simulated line all ask it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from inspkit.maintain.fsr import check_beta


class Action(str, enum.Enum):
    """What to do with the failed samples of a slot."""

    NONE = "none"
    FINETUNE = "finetune"
    RETRAIN = "retrain"


@dataclass(frozen=True)
class UpdateState:
    """What a policy decides on.

    Attributes:
        failed_now: |D̄(t)|, failed samples of the slot just closed.
        fine_tunes_since_retrain: Fine-tunes done since the last re-train.
        fsr: FSR including D̄(t) (Eq. 10).
    """

    failed_now: int
    fine_tunes_since_retrain: int
    fsr: float


@dataclass(frozen=True)
class Policy:
    """A named update policy.

    Attributes:
        name: As given: none, ft-only, wt-only, ft-K, fsr, replay.
        every_k: ft-K: re-train instead of the K+1-th fine-tune (0: never by count).
        beta: fsr and replay: re-train when FSR > β (``None``: never by FSR).
        finetunes: Whether the policy fine-tunes at all.
        replay: Whether fine-tunes mix in the replay reservoir.
    """

    name: str
    every_k: int = 0
    beta: float | None = None
    finetunes: bool = True
    replay: bool = False

    def decide(self, state: UpdateState) -> Action:
        """The action for a closed slot; nothing failed means nothing to learn."""
        if state.failed_now == 0 or self.name == "none":
            return Action.NONE
        if not self.finetunes:
            return Action.RETRAIN
        if self.every_k and state.fine_tunes_since_retrain >= self.every_k:
            return Action.RETRAIN
        if self.beta is not None and state.fsr > self.beta:
            return Action.RETRAIN
        return Action.FINETUNE


POLICY_NAMES = ("none", "ft-only", "wt-only", "ft-K", "fsr", "replay")
_FT_K = re.compile(r"ft-(\d+)")


def parse_policy(name: str, beta: float = 0.2) -> Policy:
    """A policy from its name; ``fsr`` and ``replay`` use ``beta``.

    ``replay`` re-trains on FSR > β too: the reservoir slows forgetting, the
    β test still bounds how far the model drifts from a full re-train.

    Raises:
        ValueError: an unknown name, or ft-K with K < 1, or β out of range.
    """
    check_beta(beta)
    fixed = {
        "none": Policy("none", finetunes=False),
        "ft-only": Policy("ft-only"),
        "wt-only": Policy("wt-only", finetunes=False),
        "fsr": Policy("fsr", beta=beta),
        "replay": Policy("replay", beta=beta, replay=True),
    }
    if name in fixed:
        return fixed[name]
    match = _FT_K.fullmatch(name)
    if match and int(match.group(1)) >= 1:
        return Policy(name, every_k=int(match.group(1)))
    raise ValueError(f"unknown update policy {name!r}; expected one of: {', '.join(POLICY_NAMES)} (K ≥ 1, e.g. ft-3)")


def parse_policies(names: str, beta: float = 0.2) -> list[Policy]:
    """Comma-separated policy names, in order, without repeats.

    Raises:
        ValueError: an empty list, a repeated or an unknown name.
    """
    parts = [n.strip() for n in names.split(",") if n.strip()]
    if not parts:
        raise ValueError("no policy given; expected comma-separated names such as ft-only,wt-only,fsr")
    if len(set(parts)) != len(parts):
        raise ValueError(f"a policy is named twice in {names!r}; name each once")
    return [parse_policy(n, beta) for n in parts]
