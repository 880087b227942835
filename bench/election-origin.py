#!/usr/bin/env python3
"""A results origin for bench/election-night.sh: 500 ms per request, 5 at a time, counting what it serves.

Usage: election-origin.py PORT COUNT_FILE
"""
import asyncio, json, sys, time

PORT, COUNT_FILE = int(sys.argv[1]), sys.argv[2]
slots = None
served = 0

async def handle(reader, writer):
    global served
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            async with slots:
                await asyncio.sleep(0.5)
                served += 1
                with open(COUNT_FILE, "w") as f:
                    f.write(str(served))
            body = json.dumps({"county": "Clearwater", "updated": time.time(), "precincts_reporting": served}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-cache\r\n"
                         b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except Exception:
        writer.close()

async def main():
    global slots
    slots = asyncio.Semaphore(5)
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main())
