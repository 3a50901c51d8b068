"""The table of checks (``contract_tests/CHECKS.md``) is generated from the suite and committed;
it must be what the suite generates now."""

from __future__ import annotations

from pathlib import Path

import pytest

from paywire_contract import DECLARATIONS, ProviderContractSuite, standard_tests
from paywire_contract.checks import checks, main, markdown

TABLE = Path(__file__).parent.parent / "CHECKS.md"


def test_the_committed_table_is_the_generated_one() -> None:
    assert TABLE.read_text(encoding="utf-8") == markdown(), (
        "contract_tests/CHECKS.md is out of date: python -m paywire_contract.checks --markdown "
        "> contract_tests/CHECKS.md"
    )


def test_every_check_is_described() -> None:
    described = checks()
    assert [info.name for info in described] == sorted(
        standard_tests(), key=list(vars(ProviderContractSuite)).index
    )
    for info in described:
        assert info.requires, info.name
        assert info.troubleshooting, info.name
        assert f"| `{info.name}` |" in markdown()
    for declaration in DECLARATIONS:
        assert f"| `{declaration}`" in markdown()


def test_check_mode_exits_non_zero_on_a_stale_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "CHECKS.md"
    stale.write_text(markdown().replace("test_refund_full", "test_refund_everything"))
    assert main(["--check", str(stale)]) == 1
    assert "is out of date" in capsys.readouterr().err
    stale.write_text(markdown())
    assert main(["--check", str(stale)]) == 0
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown()
