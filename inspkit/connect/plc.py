"""The edge ↔ PLC link: the handshake over the recipe's register map.

:class:`PlcLink` is what the edge needs; :class:`MemoryLink` keeps the
registers in memory (the simulator's PLC and the tests);
:class:`inspkit.connect.modbus.ModbusLink` is the same over Modbus TCP (the
only module that imports pymodbus).

A result is acknowledged when the PLC has copied its sequence number into
``ack``. Writing an acknowledged sequence again changes nothing, whatever the
verdict: a retried write can never flip a result the PLC already took.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from inspkit.errors import ConnectError
from inspkit.recipe_line import RegisterMap
from inspkit.types import Verdict

#: The paper's coding of a verdict in the ``verdict`` register.
VERDICT_CODE = {Verdict.OK: 1, Verdict.NG: 0}
SEQUENCE_MODULO = 1 << 16  # one 16-bit holding register


def sequence_of(serial: int) -> int:
    """The sequence number a part's result carries (16 bits, wrapping)."""
    return serial % SEQUENCE_MODULO


class PlcError(ConnectError):
    """The PLC did not take a result or answer a read in time (link cut, hung, refused or backing off)."""


class PlcLink(Protocol):
    """What the edge does with the PLC."""

    def write_result(self, sequence: int, verdict: Verdict, error: int = 0,
                     deadline_s: float | None = None) -> bool:
        """Publish one part's final verdict.

        Args:
            sequence: The part's 16-bit sequence number (:func:`sequence_of`).
            verdict: The final verdict.
            error: The error code written beside it (0: none).
            deadline_s: An absolute ``time.monotonic()`` time the call never blocks past.

        Returns:
            True when written; False when the PLC had already acknowledged
            ``sequence`` (nothing is written, whatever the verdict).

        Raises:
            PlcError: The result could not be written before the deadline.
        """

    def read(self, name: str) -> int:
        """Read one register of the map by name (``"ack"``, ``"ready"``…)."""


class MemoryLink:
    """A PLC's registers in memory, with the PLC's scan as a callback.

    Args:
        regmap: Register addresses.
        on_result: Called as ``on_result(sequence, verdict, error)`` once per
            new result, as a PLC scan would see ``result_ready`` rise.
    """

    def __init__(self, regmap: RegisterMap,
                 on_result: Callable[[int, Verdict, int], None] | None = None) -> None:
        self.regmap = regmap
        self.registers = [0] * (max(regmap.addresses().values()) + 1)
        self.registers[regmap.ack] = -1  # nothing acknowledged yet
        self.on_result = on_result
        self.writes = 0

    def write_result(self, sequence: int, verdict: Verdict, error: int = 0,
                     deadline_s: float | None = None) -> bool:
        """Write verdict, error and sequence, then raise ``result_ready``; the PLC acknowledges.

        ``deadline_s`` is accepted for :class:`PlcLink` and unused: memory never blocks.
        Returns False, writing nothing, when ``sequence`` is already acknowledged.
        """
        regs, m = self.registers, self.regmap
        self.writes += 1
        if regs[m.ack] == sequence:
            return False  # a retried write of a result the PLC already took: never flip it
        regs[m.verdict], regs[m.error], regs[m.sequence] = VERDICT_CODE[verdict], error, sequence
        regs[m.result_ready] = 1
        if self.on_result is not None:
            self.on_result(sequence, verdict, error)
        regs[m.ack], regs[m.result_ready] = sequence, 0
        return True

    def read(self, name: str) -> int:
        """Read a register by its name in the map."""
        return self.registers[getattr(self.regmap, name)]
