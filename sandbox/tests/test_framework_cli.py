"""``paywire sandbox serve``: argument handling, the loopback guard, serving until interrupted."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from paywire_sandbox._cli import DEFAULT_PORT, configure, main
from paywire_sandbox._webhooks import DEFAULT_RETRY_DELAYS


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paywire sandbox")
    configure(parser)
    return parser.parse_args(argv)


def test_serve_defaults() -> None:
    args = parse("serve")
    assert (args.host, args.port, args.webhook_retry_delays) == (
        "127.0.0.1",
        DEFAULT_PORT,
        DEFAULT_RETRY_DELAYS,
    )
    assert args.allow_remote is False
    assert args.fakes is None
    assert callable(args.func)


def test_serve_options() -> None:
    args = parse(
        "serve", "--host", "::1", "--port", "0", "--webhook-retry-delays", "1,2.5,60",
        "--fake", "stripe", "--fake", "paypal",
    )  # fmt: skip
    assert (args.host, args.port) == ("::1", 0)
    assert args.webhook_retry_delays == (1.0, 2.5, 60.0)
    assert args.fakes == ["stripe", "paypal"]
    assert parse("serve", "--webhook-retry-delays", "").webhook_retry_delays == ()


@pytest.mark.parametrize(
    "argv",
    [
        ("serve", "--port", "70000"),
        ("serve", "--port", "http"),
        ("serve", "--webhook-retry-delays", "1,soon"),
        ("serve", "--webhook-retry-delays", "-1"),
        ("serve", "--webhook-retry-delays", "nan"),
        ("explode",),
    ],
)
def test_bad_arguments_are_usage_errors(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_no_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "choose a command" in capsys.readouterr().err


def test_a_remote_host_is_refused_without_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2  # noqa: S104
    err = capsys.readouterr().err
    assert "refusing to listen on '0.0.0.0'" in err
    assert "--allow-remote" in err


def test_nothing_to_serve_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--fake", "no-such-fake"]) == 1
    err = capsys.readouterr().err
    assert "skipped fake 'no-such-fake'" in err
    assert "no fakes to serve" in err


def test_serve_prints_the_urls_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "cli_echo_plugin.py").write_text(
        textwrap.dedent(
            """
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route

            from paywire_sandbox import Fake, hookimpl


            async def hello(request):
                return PlainTextResponse("hello")


            class CliFake(Fake):
                name = "clifake"

                def routes(self):
                    return [Route("/hello", hello)]

                def reset(self):
                    pass

                def sign_webhook(self, body, endpoint, timestamp):
                    return {}


            @hookimpl
            def paywire_sandbox_register_fakes(register):
                register(CliFake)
            """
        )
    )
    dist = tmp_path / "cli_echo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cli-echo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[paywire_sandbox]\nclifake = cli_echo_plugin\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
        "PAYWIRE_SANDBOX_FAKES": "clifake",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "paywire_sandbox._cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        urls = dict(line.split() for line in lines[:2])
        assert lines[2].strip() == "Press Ctrl-C to stop."
        assert urls["control"].endswith("/_sandbox")
        assert urls["clifake"] == urls["control"].replace("/_sandbox", "/clifake")
        assert httpx.get(urls["clifake"] + "/hello", timeout=10).text == "hello"
        assert httpx.get(urls["control"] + "/", timeout=10).json()["fakes"] == ["clifake"]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
