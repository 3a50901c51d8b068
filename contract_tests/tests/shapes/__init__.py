"""Test providers of shapes paywire does not ship, each with its sandbox fake and harness: the
contract suite certifies every one of them (``test_shapes_certified.py``).

========================  ================================================================
module                    shape
========================  ================================================================
``single``                one status event per checkout (``checkout_events = "single"``)
``settle``                asynchronous charges and refunds, settled by webhook
``idonly``                form-encoded, unsigned, id-only notifications verified by fetching
``mandate``               mandates under customers; unsigned timestamps; ids in headers
``nocodes``               errors without codes (``error_codes = False``)
``rotated``               several secrets, several signatures in one header
========================  ================================================================
"""

from __future__ import annotations

from typing import Final

from shapes._base import ShapeFake, ShapeHarness
from shapes.idonly import IdOnlyFake, IdOnlyHarness
from shapes.mandate import MandateFake, MandateHarness
from shapes.nocodes import NoCodesFake, NoCodesHarness
from shapes.rotated import RotatedFake, RotatedHarness
from shapes.settle import SettleFake, SettleHarness
from shapes.single import SingleFake, SingleHarness

__all__ = ["FAKES", "HARNESSES", "ShapeHarness"]

#: Every shape's harness class, by the shape's provider name.
HARNESSES: Final[dict[str, type[ShapeHarness]]] = {
    harness.provider_name: harness
    for harness in (
        SingleHarness,
        SettleHarness,
        IdOnlyHarness,
        MandateHarness,
        NoCodesHarness,
        RotatedHarness,
    )
}
#: Every shape's sandbox fake.
FAKES: Final[tuple[type[ShapeFake], ...]] = (
    SingleFake,
    SettleFake,
    IdOnlyFake,
    MandateFake,
    NoCodesFake,
    RotatedFake,
)
