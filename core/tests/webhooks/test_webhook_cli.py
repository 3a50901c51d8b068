"""``paywire webhooks``: list, show, replay, prune, check — and exit codes a cron job can use."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from webhook_support import event_body, make_provider, signed

from paywire import EventType, WebhookEvent
from paywire._cli import main
from paywire.webhooks import SQLiteEventStore, WebhookProcessor
from paywire.webhooks import _cli as webhooks_cli


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A store holding a processed, a failed, a dead and a rejected event."""
    path = tmp_path / "events.sqlite3"
    provider = make_provider()
    store = SQLiteEventStore(path)
    processor = WebhookProcessor(
        {"acme": provider}, store, mode="inbox", worker=None, max_attempts=2
    )

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def handle(event: WebhookEvent) -> None:
        if event.invoice_id == "fail":
            raise RuntimeError("cannot reach the ledger")

    for event_id, invoice in (("evt_ok", "INV-1"), ("evt_dead", "fail")):
        body = event_body(event_id, invoice=invoice)
        processor.process("acme", body, signed(body))
    processor.work()
    processor.work()  # evt_dead's second try: dead
    body = event_body("evt_failing", invoice="fail")
    processor.process("acme", body, signed(body))
    processor.work()
    processor.process("acme", b"{broken", signed(b"{broken"))
    store.close()
    provider.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["webhooks", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_open_events_by_default_and_any_status_on_request(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--store", str(database), "list")
    assert code == 0
    assert "evt_failing" in out
    assert "cannot reach the ledger" in out
    assert "evt_ok" not in out
    code, out, _ = run(capsys, "--store", str(database), "list", "--status", "dead", "--json")
    (line,) = out.splitlines()
    found = json.loads(line)
    assert (found["event_id"], found["status"], found["attempts"]) == ("evt_dead", "dead", 2)
    code, out, _ = run(capsys, "--store", str(database), "list", "--status", "failed")
    assert "evt_failing" in out
    assert "evt_dead" not in out
    code, out, _ = run(capsys, "--store", f"sqlite://{database}", "list", "--status", "all")
    assert {"evt_ok", "evt_dead", "evt_failing", "rejected"} <= set(out.split())
    code, out, _ = run(capsys, "--store", str(database), "list", "--status", "ignored")
    assert out == "no ignored events\n"


def test_show_prints_one_event_and_exits_1_when_there_is_none(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--store", str(database), "show", "acme", "evt_ok", "--json")
    assert code == 0
    found = json.loads(out)
    assert found["status"] == "processed"
    assert found["event"]["invoice_id"] == "INV-1"
    assert json.loads(found["raw_body"])["id"] == "evt_ok"
    code, out, _ = run(capsys, "--store", str(database), "show", "acme", "evt_dead")
    assert code == 0
    assert "status:       dead" in out
    code, _, err = run(capsys, "--store", str(database), "show", "acme", "evt_nope")
    assert code == 1
    assert "no acme event" in err


def test_replay_puts_events_back_for_the_workers(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--store", str(database), "replay", "acme", "evt_dead")
    assert (code, out) == (0, "1 events back to pending; the workers will run them\n")
    store = SQLiteEventStore(database)
    revived = store.get("acme", "evt_dead")
    assert revived is not None
    assert (revived.status, revived.attempts) == ("pending", 0)
    store.close()
    code, _, err = run(capsys, "--store", str(database), "replay", "acme", "evt_ok")
    assert code == 1  # processed: nothing to replay
    assert "no acme event 'evt_ok'" in err
    code, out, _ = run(capsys, "--store", str(database), "replay", "acme", "--all")
    assert (code, out) == (0, "2 events back to pending; the workers will run them\n")
    code, _, err = run(capsys, "--store", str(database), "replay", "acme")
    assert code == 2
    assert "EVENT_ID or --all" in err


def test_replay_with_the_app_runs_the_handlers_here_with_progress(
    database: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "webhook_app.py").write_text(
        textwrap.dedent(
            f"""
            from paywire import EventType
            from paywire.webhooks import SQLiteEventStore, WebhookProcessor
            from webhook_support import make_provider

            processor = WebhookProcessor(
                {{"acme": make_provider()}}, SQLiteEventStore({str(database)!r}),
                mode="inbox", worker=None,
            )
            ran = []

            @processor.on(EventType.PAYMENT_SUCCEEDED)
            def handle(event):
                ran.append(event.id)
                if event.id == "evt_failing":
                    raise RuntimeError("still down")
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(webhooks_cli, "_PROGRESS_EVERY", 0.0)
    code, out, err = run(capsys, "--app", "webhook_app:processor", "replay", "acme", "--all")
    assert code == 1  # one of them failed again
    assert out == "replayed 2 events: handler_failed 1, processed 1\n"
    assert "replayed 2/2" in err
    module: Any = sys.modules["webhook_app"]
    assert sorted(module.ran) == ["evt_dead", "evt_failing"]
    code, out, _ = run(capsys, "--app", "webhook_app:processor", "replay", "acme", "evt_dead")
    assert code == 1  # processed now: nothing to replay
    monkeypatch.delitem(sys.modules, "webhook_app")
    code, _, err = run(capsys, "--app", "webhook_app", "list")
    assert code == 2
    assert "module:attribute" in err
    code, _, err = run(capsys, "--app", "webhook_app:ran", "list")
    assert code == 2
    assert "not a WebhookProcessor" in err
    code, _, err = run(capsys, "--app", "no_such_module:x", "list")
    assert code == 2
    assert "ModuleNotFoundError" in err


def test_check_exits_1_when_events_need_a_person(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--store", str(database), "check")
    assert code == 1
    assert "NEEDS ATTENTION: 1 dead events" in out
    code, out, _ = run(capsys, "--store", str(database), "check", "--max-dead", "1")
    assert (code, out.splitlines()[-1]) == (0, "ok")
    code, out, _ = run(
        capsys, "--store", str(database), "check", "--max-dead", "1", "--max-pending-age", "-1"
    )
    assert code == 1
    assert "an open event waits" in out


def test_prune_and_the_store_given_by_the_environment(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYWIRE_WEBHOOKS_STORE", str(database))
    code, out, _ = run(capsys, "prune", "--older-than", "1")
    assert (code, out) == (0, "pruned 0 finished events older than 1 days\n")
    code, out, _ = run(capsys, "prune", "--older-than", "-1")  # everything finished
    assert out == "pruned 2 finished events older than -1 days\n"
    code, out, _ = run(capsys, "list", "--status", "all")
    assert "evt_ok" not in out
    assert "evt_dead" in out


def test_a_missing_store_or_command_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYWIRE_WEBHOOKS_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "list")
    assert code == 2
    assert "no event database" in err
    assert not (tmp_path / "paywire-webhooks.sqlite3").exists()
    code, out, _ = run(capsys)
    assert code == 2
    assert "COMMAND" in out
    code, _, err = run(capsys, "--store", "postgresql://127.0.0.1:1/none", "list")
    assert code == 2
    assert "OperationalError" in err
