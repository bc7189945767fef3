#!/usr/bin/env python3
# docker-tap.py - a recording forwarder for the proxy tests: listens on a unix
# socket, forwards each connection to the real Docker socket, and appends every
# byte sent toward Docker to a log file (flushed per chunk), so that a test can
# prove that a request the proxy refused never reached Docker.
#
#   docker-tap.py LISTEN_SOCKET UPSTREAM_SOCKET LOG_FILE
#
# ds01d is started with --docker-socket LISTEN_SOCKET. The listening socket is
# created with mode 0600 (umask 077): it reaches Docker without any check, so
# only root (ds01d) may connect to it. Connections are forwarded byte for byte
# in both directions, half-closes included (attach, exec with stdin), one
# thread per direction. Responses are not logged. SIGTERM or SIGINT stops it.
#
# Python 3 standard library only.
import os
import signal
import socket
import sys
import threading

CHUNK = 65536


class Tap:
    def __init__(self, listen, upstream, log_path):
        self.listen = listen
        self.upstream = upstream
        self.log = open(log_path, "ab", buffering=0)
        self.lock = threading.Lock()

    def record(self, data):
        with self.lock:
            self.log.write(data)
            self.log.flush()

    def pump(self, src, dst, logged):
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                if logged:
                    self.record(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # pass the half-close on; the other direction may go on
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def serve(self, client):
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            up.connect(self.upstream)
        except OSError as e:
            sys.stderr.write("docker-tap: cannot reach %s: %s\n" % (self.upstream, e))
            client.close()
            up.close()
            return
        t = threading.Thread(target=self.pump, args=(up, client, False), daemon=True)
        t.start()
        self.pump(client, up, True)
        t.join()
        client.close()
        up.close()

    def run(self):
        try:
            os.unlink(self.listen)
        except FileNotFoundError:
            pass
        old = os.umask(0o077)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.listen)
        os.umask(old)
        os.chmod(self.listen, 0o600)
        srv.listen(512)
        while True:
            client, _ = srv.accept()
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: docker-tap.py LISTEN_SOCKET UPSTREAM_SOCKET LOG_FILE\n")
        return 2
    tap = Tap(sys.argv[1], sys.argv[2], sys.argv[3])

    def stop(_sig, _frame):
        try:
            os.unlink(tap.listen)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tap.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
