"""Export a classifier to ONNX and prove the file computes what the model computes.

The edge computer runs models through onnxruntime, so an exported file is only
published after onnxruntime and torch agree on random inputs. The file holds
one input ``image`` (N, C, S, S float32, already normalised) and one output
``logits`` (N, classes); the batch axis is dynamic and named ``batch``.

The legacy TorchScript exporter (``dynamo=False``) is used on purpose: in
torch 2.14 the ``dynamo=True`` exporter needs the extra ``onnxscript`` package
and takes seconds per model, while the legacy one needs only ``onnx`` and
traces a classifier in well under a second. Tracing freezes Python control
flow, which the onnxruntime comparison below catches.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inspkit.errors import InputError, InspkitError
from inspkit.store.atomic import atomic_write_bytes

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    import torch

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
BATCH_AXIS = "batch"
CHECK_BATCH_SIZES = (1, 3)
# Not 1 and not a check size: a batch of 1 lets the tracer confuse the batch
# axis with other size-1 axes, and a fresh size proves the axis is dynamic.
_TRACE_BATCH = 2
# The legacy exporter announces its own deprecation on every call; the choice
# is deliberate (see the module docstring), so the notice is noise here.
_EXPORTER_NOTICES = (
    "You are using the legacy TorchScript-based ONNX export",
    "The feature will be removed",
)


@dataclass(frozen=True)
class OnnxCheck:
    """The result of an export whose file passed the onnxruntime comparison.

    Attributes:
        path: Where the ONNX file was written.
        max_abs_diff: Largest absolute difference between onnxruntime and torch
            **logits** (not softmax probabilities) over all checked inputs.
        tolerance: The largest difference that was accepted.
        ok: Whether ``max_abs_diff <= tolerance``; always true for a returned
            check, because a failed check raises instead.
        opset: The ONNX opset of the default domain in the written file.
    """

    path: Path
    max_abs_diff: float
    tolerance: float
    ok: bool
    opset: int


def export_onnx(
    model: torch.nn.Module,
    input_size: int,
    path: Path,
    *,
    channels: int = 3,
    tolerance: float = 1e-4,
    samples: int = 4,
    seed: int = 0,
) -> OnnxCheck:
    """Export ``model`` to ``path`` as ONNX after checking it against torch.

    The model is exported in eval mode (its previous mode is restored
    afterwards). The serialised model is run with onnxruntime on the CPU on
    ``samples`` random inputs, alternating batch sizes 1 and 3, and its logits
    are compared with the model's own. Only a file that agrees within
    ``tolerance`` is written, atomically; missing folders are created. A failed
    export or check writes nothing and leaves an earlier file at ``path`` as it
    was.

    Args:
        model: A classifier mapping (N, C, S, S) images to (N, classes) logits.
        input_size: The side S of the square input, in pixels.
        path: The ONNX file to write.
        channels: The number of input channels C.
        tolerance: The largest accepted absolute difference between logits.
        samples: How many random batches to compare.
        seed: Seed of the random trace and check inputs.

    Returns:
        The check of the written file.

    Raises:
        InputError: An argument is out of range or ``path`` cannot be written.
        InspkitError: The model cannot be exported, or onnxruntime disagrees
            with torch by more than ``tolerance``.
    """
    _check_args(input_size, channels, samples, tolerance)
    was_training = model.training
    model.eval()
    try:
        data = _export_bytes(model, input_size, channels, seed)
        diff = _max_abs_diff(model, data, input_size, channels, samples, seed)
    finally:
        model.train(was_training)
    if not diff <= tolerance:  # written this way so that a NaN difference fails too
        raise InspkitError(
            f"ONNX export of {path.name} disagrees with torch: max |logit difference| "
            f"{diff:.3g} > tolerance {tolerance:.3g}; nothing was written. Make the model's "
            "forward traceable (no Python branches on tensor values or shapes) or raise "
            "the tolerance."
        )
    _publish(path, data)
    return OnnxCheck(path, diff, tolerance, True, _opset_of(data))


def _check_args(input_size: int, channels: int, samples: int, tolerance: float) -> None:
    """Reject argument values that cannot describe an export check."""
    if input_size < 1 or channels < 1 or samples < 1:
        raise InputError(
            f"input_size, channels and samples must be at least 1 "
            f"(got {input_size}, {channels}, {samples}); pass positive values."
        )
    if not tolerance >= 0:
        raise InputError(f"tolerance must be >= 0 (got {tolerance}); pass e.g. 1e-4.")


def _random_images(
    generator: torch.Generator, batch: int, channels: int, input_size: int
) -> torch.Tensor:
    """Standard-normal images: the range of normalised inputs the model sees."""
    import torch

    return torch.randn((batch, channels, input_size, input_size), generator=generator)


def _device_of(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a parameterless model)."""
    import torch

    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's deprecation notices and undo its global log switch.

    The legacy exporter turns torch's ONNX log on and leaves it on for the
    rest of the process (torch 2.14 tests the getter function object instead
    of calling it). Within a failing export it still dumps the graph to
    stdout; that cannot be switched off from outside.
    """
    import torch

    log_was_enabled = torch._C._jit_is_onnx_log_enabled()
    try:
        with warnings.catch_warnings():
            for notice in _EXPORTER_NOTICES:
                warnings.filterwarnings("ignore", message=notice, category=DeprecationWarning)
            yield
    finally:
        torch._C._jit_set_onnx_log_enabled(log_was_enabled)


def _export_bytes(model: torch.nn.Module, input_size: int, channels: int, seed: int) -> bytes:
    """Trace ``model`` into serialised ONNX bytes with a dynamic batch axis."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    example = _random_images(generator, _TRACE_BATCH, channels, input_size)
    buffer = io.BytesIO()
    axes = {INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}}
    try:
        with _quiet_exporter():
            torch.onnx.export(
                model,
                (example.to(_device_of(model)),),
                buffer,
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=OPSET,
            )
    except RuntimeError as exc:  # torch.onnx's own errors derive from RuntimeError
        raise InspkitError(
            f"cannot export {type(model).__name__} to ONNX opset {OPSET}: "
            f"{_first_line(exc)}; use a model built from standard layers."
        ) from exc
    return buffer.getvalue()


def _max_abs_diff(
    model: torch.nn.Module, data: bytes, input_size: int, channels: int, samples: int, seed: int
) -> float:
    """Largest |onnxruntime logits - torch logits| over ``samples`` random batches.

    NaN as soon as one batch gives NaN, so that the caller cannot mistake it
    for agreement; infinity when the output shapes differ.
    """
    import torch

    session = _cpu_session(data)
    # Offset the seed so that the check inputs are not the trace input.
    generator = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    for index in range(samples):
        batch = CHECK_BATCH_SIZES[index % len(CHECK_BATCH_SIZES)]
        images = _random_images(generator, batch, channels, input_size)
        with torch.no_grad():
            expected = model(images.to(_device_of(model))).float().cpu().numpy()
        diff = _abs_diff(_run_session(session, images.numpy()), expected)
        if math.isnan(diff):
            return diff
        worst = max(worst, diff)
    return worst


def _abs_diff(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute element difference; infinity when the shapes differ."""
    import numpy as np

    if actual.shape != expected.shape:
        return math.inf
    return float(np.max(np.abs(actual - expected), initial=0.0))


def _cpu_session(data: bytes) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session for serialised model bytes."""
    import onnxruntime

    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def _run_session(session: onnxruntime.InferenceSession, images: np.ndarray) -> np.ndarray:
    """Run ``session`` on one batch; a runtime failure is a failed export."""
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    failures = (ort_state.Fail, ort_state.InvalidArgument, ort_state.RuntimeException)
    try:
        return session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]
    except failures as exc:
        raise InspkitError(
            f"onnxruntime cannot run the exported model on a batch of {images.shape[0]}: "
            f"{_first_line(exc)}; make the model's forward independent of the batch size."
        ) from exc


def _publish(path: Path, data: bytes) -> None:
    """Write the checked bytes atomically, creating missing folders."""
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise InputError(
            f"cannot write the ONNX file {path}: {exc.strerror or exc}; "
            "choose a path in a writable folder."
        ) from exc


def _opset_of(data: bytes) -> int:
    """The opset of the default ONNX domain recorded in the model bytes."""
    import onnx

    model = onnx.load_model_from_string(data)
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, so CLI errors stay one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
