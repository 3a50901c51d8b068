"""A lean HTTP/1.1 sender for the benchmarks: ``senders`` keep-alive connections written on raw
asyncio streams, so that the client costs far less CPU than the server it measures (httpx's
async pool spends milliseconds per request at 50 connections on a 2-core machine)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def _request(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def send_all(
    order: list[str],
    bodies: dict[str, tuple[bytes, dict[str, str]]],
    ports: int | list[int],
    senders: int = 50,
    patience: float = 10.0,
) -> tuple[set[str], Counter[str], float]:
    """Deliver every event in ``order`` until each delivery is answered 2xx (a non-2xx one is
    sent again later, as is one unanswered after ``patience`` seconds); the acknowledged ids,
    the answers seen, and the seconds it took. With several ``ports`` each connection goes to
    one chosen at random, and a connection that fails is made again to another."""
    choices = [ports] if isinstance(ports, int) else list(ports)
    rng = random.Random(5)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for event_id in order:
        queue.put_nowait(event_id)
    acked: set[str] = set()
    answers: Counter[str] = Counter()
    requests = {
        (port, event_id): _request(port, *bodies[event_id])
        for event_id in set(order)
        for port in choices
    }
    left = [len(order)]
    started = time.perf_counter()

    async def connect() -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
        while True:
            port = rng.choice(choices)
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError as exc:
                answers[type(exc).__name__] += 1
                await asyncio.sleep(0.2)
                continue
            return port, reader, writer

    async def sender() -> None:
        port, reader, writer = await connect()
        try:
            while left[0] > 0:
                try:
                    event_id = queue.get_nowait()
                except asyncio.QueueEmpty:
                    await asyncio.sleep(0.01)
                    continue
                try:
                    status = await asyncio.wait_for(
                        _exchange(reader, writer, requests[port, event_id]), patience
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    answers[type(exc).__name__] += 1
                    writer.close()
                    queue.put_nowait(event_id)
                    port, reader, writer = await connect()
                    continue
                answers[str(status)] += 1
                if 200 <= status < 300:
                    acked.add(event_id)
                    left[0] -= 1
                else:
                    queue.put_nowait(event_id)
        finally:
            writer.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return acked, answers, time.perf_counter() - started
