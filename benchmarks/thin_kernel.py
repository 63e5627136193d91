"""The thinnest Lua kernel jupyter_client accepts: raw pyzmq and lupa, one thread, no features.
A reference for benchmarks/kernel_latency.py (what the wire and Lua cost without llmspell).

python thin_kernel.py -f CONNECTION_FILE
"""

import hashlib
import hmac
import json
import sys
import threading
import uuid
from datetime import UTC, datetime

import lupa.lua54 as lua54
import zmq

DELIM = b"<IDS|MSG>"


def main() -> None:
    with open(sys.argv[sys.argv.index("-f") + 1], encoding="utf-8") as handle:
        info = json.load(handle)
    key = info["key"].encode()
    ctx = zmq.Context()

    def bind(kind: int, port: str) -> zmq.Socket:
        sock = ctx.socket(kind)
        sock.bind(f"{info['transport']}://{info['ip']}:{info[port]}")
        return sock

    shell, control = bind(zmq.ROUTER, "shell_port"), bind(zmq.ROUTER, "control_port")
    iopub, _stdin = bind(zmq.PUB, "iopub_port"), bind(zmq.ROUTER, "stdin_port")
    beat = bind(zmq.ROUTER, "hb_port")
    threading.Thread(target=zmq.proxy, args=(beat, beat), daemon=True).start()  # echo, no GIL
    session = uuid.uuid4().hex
    lua = lua54.LuaRuntime()

    def send(sock: zmq.Socket, ids: list, kind: str, content: dict, parent: dict) -> None:
        header = {
            "msg_id": uuid.uuid4().hex,
            "session": session,
            "username": "thin",
            "date": datetime.now(UTC).isoformat(),
            "msg_type": kind,
            "version": "5.3",
        }
        frames = [json.dumps(p).encode() for p in (header, parent, {}, content)]
        mac = hmac.new(key, digestmod=hashlib.sha256)
        for frame in frames:
            mac.update(frame)
        sock.send_multipart([*ids, DELIM, mac.hexdigest().encode(), *frames])

    poller = zmq.Poller()
    poller.register(shell, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    count = 0
    while True:
        for sock, _ in poller.poll():
            parts = sock.recv_multipart()
            at = parts.index(DELIM)
            ids, (_sig, head, _parent, _meta, body) = parts[:at], parts[at + 1 : at + 6]
            parent, content = json.loads(head), json.loads(body)  # the request's header
            kind = parent["msg_type"]
            send(iopub, [], "status", {"execution_state": "busy"}, parent)
            if kind == "kernel_info_request":
                send(
                    sock,
                    ids,
                    "kernel_info_reply",
                    {
                        "status": "ok",
                        "protocol_version": "5.3",
                        "implementation": "thin",
                        "implementation_version": "0",
                        "banner": "",
                        "language_info": {
                            "name": "lua",
                            "version": "5.4",
                            "file_extension": ".lua",
                        },
                    },
                    parent,
                )
            elif kind == "execute_request":
                count += 1
                send(
                    iopub,
                    [],
                    "execute_input",
                    {"code": content["code"], "execution_count": count},
                    parent,
                )
                try:
                    value = lua.execute(content["code"])
                    if value is not None:
                        send(
                            iopub,
                            [],
                            "execute_result",
                            {
                                "execution_count": count,
                                "metadata": {},
                                "data": {"text/plain": str(value)},
                            },
                            parent,
                        )
                    reply = {"status": "ok", "execution_count": count, "user_expressions": {}}
                except lua54.LuaError as exc:
                    reply = {
                        "status": "error",
                        "execution_count": count,
                        "ename": "LuaError",
                        "evalue": str(exc),
                        "traceback": [str(exc)],
                    }
                send(sock, ids, "execute_reply", reply, parent)
            elif kind == "shutdown_request":
                send(sock, ids, "shutdown_reply", {"status": "ok", "restart": False}, parent)
                send(iopub, [], "status", {"execution_state": "idle"}, parent)
                return
            send(iopub, [], "status", {"execution_state": "idle"}, parent)


if __name__ == "__main__":
    main()
