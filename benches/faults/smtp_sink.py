#!/usr/bin/env python3
"""A small SMTP sink for the fault scripts (standard library only, Python 3.11+).

Accepts every message on 127.0.0.1:PORT without TLS or authentication, writes it to
DIR/<arrival number>.eml and appends one line to DIR/arrivals.tsv

    <unix time>\t<Message-ID>\t<recipients, comma-separated>

before it answers "250", so a message the sink acknowledged is always on disk, and one the
sink died before acknowledging may arrive again (the sender cannot know it arrived). Stop it
with any signal; start it again with the same DIR to go on appending.

  smtp_sink.py --port 2525 --dir /tmp/mail
"""

import argparse
import asyncio
import email.parser
import email.policy
import os
import time

MAX_BYTES = 10 * 1024 * 1024


class Sink:
    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.log = open(os.path.join(folder, "arrivals.tsv"), "a", encoding="utf-8")
        self.count = sum(1 for name in os.listdir(folder) if name.endswith(".eml"))

    def store(self, data, recipients):
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
        message_id = " ".join(str(headers.get("Message-ID", "")).split())
        self.count += 1
        path = os.path.join(self.folder, f"{self.count:08d}.eml")
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
        self.log.write(f"{time.time():.3f}\t{message_id}\t{','.join(recipients)}\n")
        self.log.flush()

    async def session(self, reader, writer):
        def send(line):
            writer.write(line.encode() + b"\r\n")

        send("220 faults-sink ESMTP")
        sender, recipients = None, []
        try:
            while True:
                await writer.drain()
                line = await reader.readline()
                if not line:
                    return
                command = line.decode("utf-8", "replace").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    send("250-faults-sink")
                    send("250-8BITMIME")
                    send(f"250 SIZE {MAX_BYTES}")
                elif verb == "HELO":
                    send("250 faults-sink")
                elif verb == "MAIL":
                    sender, recipients = command[5:].strip(), []
                    send("250 OK")
                elif verb == "RCPT":
                    if sender is None:
                        send("503 MAIL first")
                        continue
                    recipients.append(command[3 + 5:].strip().strip("<>").split(">")[0])
                    send("250 OK")
                elif verb == "DATA":
                    if not recipients:
                        send("503 RCPT first")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    lines = []
                    while True:
                        raw = await reader.readline()
                        if not raw:
                            return
                        if raw in (b".\r\n", b".\n"):
                            break
                        lines.append(raw[1:] if raw.startswith(b".") else raw)
                    self.store(b"".join(lines), recipients)
                    sender, recipients = None, []
                    send("250 OK queued")
                elif verb == "RSET":
                    sender, recipients = None, []
                    send("250 OK")
                elif verb == "NOOP":
                    send("250 OK")
                elif verb == "QUIT":
                    send("221 Bye")
                    await writer.drain()
                    return
                else:
                    send("502 Command not implemented")
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    sink = Sink(args.dir)
    server = await asyncio.start_server(sink.session, "127.0.0.1", args.port, limit=MAX_BYTES)
    print(f"smtp sink on 127.0.0.1:{args.port}, writing to {args.dir}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
