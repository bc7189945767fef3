#!/usr/bin/env python3
"""conn-flood.py - misbehaving clients of ds01d's Docker API proxy, for
test-faults-conn.sh. Each mode prints one JSON object on stdout.

  flood SOCK N [--ready FILE] [--hold S]
      opens N connections and sends nothing; collects what the proxy answers
      on each until all are closed or S seconds (default 60) pass:
      {"opened", "refused_connect", "status": {"429": n, "408": n, ...,
       "none": closed without an answer, "open": still open},
       "message": {"429": first body, ...}, "answered_after": {"408": [min, max]}}
      FILE is created once all N are connected.
  slowhead SOCK [--interval S]
      sends a request head one byte every S seconds (default 1):
      {"status", "message", "elapsed", "sent"}
  bigbody SOCK LENGTH [--chunked]
      POST /containers/create announcing LENGTH bytes (or chunked), then
      streams zeros as fast as the proxy takes them until it answers:
      {"status", "message", "elapsed", "sent"} (sent: body bytes accepted)
  slowbody SOCK LENGTH SEND
      POST /containers/create announcing LENGTH bytes, sends SEND of them and
      waits: {"status", "message", "elapsed"}
  keepalive SOCK
      GET /_ping, then waits on the kept-alive connection until the proxy
      closes it: {"status", "idle_closed_after"}
"""
import argparse
import json
import os
import select
import socket
import sys
import time

API = "/v1.41"


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def parse_answer(data):
    """(status, body) of an HTTP answer in data, or (None, "")."""
    if not data.startswith(b"HTTP/1."):
        return None, ""
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None, ""
    # skip interim answers (100 Continue)
    if status == 100 and body.startswith(b"HTTP/1."):
        return parse_answer(body)
    try:
        msg = json.loads(body.decode("utf-8", "replace")).get("message", "")
    except ValueError:
        msg = body.decode("utf-8", "replace")
    return status, msg


def read_answer(s, deadline):
    """Reads until the proxy closes or deadline; returns the bytes."""
    data = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        try:
            k = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not k:
            break
        data += k
    return data


def flood(args):
    socks, refused = [], 0
    t_conn = {}
    for _ in range(args.n):
        try:
            s = connect(args.sock)
        except OSError:
            refused += 1
            continue
        s.setblocking(False)
        socks.append(s)
        t_conn[s.fileno()] = time.monotonic()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(str(len(socks)))
    data = {s.fileno(): b"" for s in socks}
    done = {}
    open_ = {s.fileno(): s for s in socks}
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    deadline = time.monotonic() + args.hold
    while open_ and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            s = open_.get(fd)
            if s is None:
                continue
            try:
                k = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                k = b""
            if k:
                data[fd] += k
                continue
            done[fd] = time.monotonic()
            poller.unregister(s)
            s.close()
            del open_[fd]
    status, message, after = {}, {}, {}
    for fd, raw in data.items():
        st, msg = parse_answer(raw)
        key = str(st) if st else ("open" if fd in open_ else "none")
        status[key] = status.get(key, 0) + 1
        if st and key not in message:
            message[key] = msg
        if st and fd in done:
            t = round(done[fd] - t_conn[fd], 2)
            lo, hi = after.get(key, [t, t])
            after[key] = [min(lo, t), max(hi, t)]
    for s in open_.values():
        s.close()
    return {"opened": len(socks), "refused_connect": refused, "status": status,
            "message": message, "answered_after": after}


def slowhead(args):
    s = connect(args.sock)
    head = ("GET %s/_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: slow\r\n"
            "X-Padding: %s\r\n\r\n" % (API, "x" * 200)).encode()
    t0 = time.monotonic()
    sent = 0
    for b in head:
        try:
            s.send(bytes([b]))
        except OSError:
            break
        sent += 1
        r, _, _ = select.select([s], [], [], args.interval)
        if r:
            break
    data = read_answer(s, time.monotonic() + 5)
    st, msg = parse_answer(data)
    return {"status": st, "message": msg, "elapsed": round(time.monotonic() - t0, 2),
            "sent": sent, "head_len": len(head)}


def bigbody(args):
    s = connect(args.sock)
    body = json.dumps({"Image": "ds01-test-busybox:latest"}).encode()
    if args.chunked:
        framing = "Transfer-Encoding: chunked\r\n"
    else:
        framing = "Content-Length: %d\r\n" % args.length
    head = ("POST %s/containers/create HTTP/1.1\r\nHost: docker\r\n"
            "Content-Type: application/json\r\n%s\r\n" % (API, framing)).encode()
    t0 = time.monotonic()
    s.sendall(head)
    block = b" " * 65536
    if args.chunked:
        block = b"%x\r\n" % len(block) + block + b"\r\n"
    sent = 0
    s.setblocking(False)
    data = b""
    deadline = t0 + 120
    while time.monotonic() < deadline and sent < args.length:
        r, w, _ = select.select([s], [s], [], 1.0)
        if r:
            break
        if w:
            try:
                sent += s.send(block)
            except BlockingIOError:
                continue
            except OSError:
                break
    s.setblocking(True)
    data = read_answer(s, time.monotonic() + 10)
    st, msg = parse_answer(data)
    return {"status": st, "message": msg, "elapsed": round(time.monotonic() - t0, 2),
            "sent": sent}


def slowbody(args):
    s = connect(args.sock)
    head = ("POST %s/containers/create HTTP/1.1\r\nHost: docker\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (API, args.length)).encode()
    t0 = time.monotonic()
    s.sendall(head + b" " * args.send)
    data = read_answer(s, t0 + 120)
    st, msg = parse_answer(data)
    return {"status": st, "message": msg, "elapsed": round(time.monotonic() - t0, 2)}


def keepalive(args):
    s = connect(args.sock)
    s.sendall(("GET %s/_ping HTTP/1.1\r\nHost: docker\r\n\r\n" % API).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        k = s.recv(4096)
        if not k:
            break
        data += k
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        k = s.recv(4096)
        if not k:
            break
        body += k
    st, _ = parse_answer(data)
    t0 = time.monotonic()
    rest = read_answer(s, t0 + 600)
    return {"status": st, "idle_closed_after": round(time.monotonic() - t0, 2),
            "after_answer": rest.decode("utf-8", "replace")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("flood")
    p.add_argument("sock")
    p.add_argument("n", type=int)
    p.add_argument("--ready")
    p.add_argument("--hold", type=float, default=60)
    p = sub.add_parser("slowhead")
    p.add_argument("sock")
    p.add_argument("--interval", type=float, default=1.0)
    p = sub.add_parser("bigbody")
    p.add_argument("sock")
    p.add_argument("length", type=int)
    p.add_argument("--chunked", action="store_true")
    p = sub.add_parser("slowbody")
    p.add_argument("sock")
    p.add_argument("length", type=int)
    p.add_argument("send", type=int)
    p = sub.add_parser("keepalive")
    p.add_argument("sock")
    args = ap.parse_args()
    out = {"flood": flood, "slowhead": slowhead, "bigbody": bigbody, "slowbody": slowbody,
           "keepalive": keepalive}[args.mode](args)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
