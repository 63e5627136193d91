"""system_monitor: read-only figures of this machine through psutil: CPU, memory, disks, load,
uptime and the processes using the most memory. Present only when psutil is installed (llmspell
does not depend on it); it changes nothing and reads no file's content."""

from __future__ import annotations

import os
import time

from llmspell_kernel.tools.base import Params, ToolError, ToolResponse

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

OPERATIONS = ("all", "cpu", "memory", "disk", "processes", "system")
MAX_INTERVAL = 5.0
MAX_PROCESSES = 100


def run(params: Params, context: Any) -> ToolResponse:
    import psutil

    operation = params.choice("operation", OPERATIONS, "all")
    interval = params.number("interval", 0.1)
    if not 0 <= interval <= MAX_INTERVAL:
        raise ToolError(f"parameter 'interval' must be between 0 and {MAX_INTERVAL:g} seconds")
    top = params.integer("limit", 10)
    if not 1 <= top <= MAX_PROCESSES:
        raise ToolError(f"parameter 'limit' must be between 1 and {MAX_PROCESSES}")
    parts = ("cpu", "memory", "disk", "system") if operation == "all" else (operation,)
    result: dict[str, Any] = {}
    for part in parts:
        result[part] = _READERS[part](psutil, interval, top)
    return ToolResponse(result=result, text=_summary(result), operation=operation)


def _cpu(psutil: Any, interval: float, _top: int) -> dict[str, Any]:
    per_cpu = psutil.cpu_percent(interval=interval or None, percpu=True)
    frequency = psutil.cpu_freq()
    return {
        "percent": round(sum(per_cpu) / len(per_cpu), 1) if per_cpu else 0.0,
        "per_cpu": per_cpu,
        "logical_cores": psutil.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "frequency_mhz": None if frequency is None else round(frequency.current, 1),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _memory(psutil: Any, _interval: float, _top: int) -> dict[str, Any]:
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    return {
        "total": memory.total,
        "available": memory.available,
        "used": memory.used,
        "percent": memory.percent,
        "swap_total": swap.total,
        "swap_used": swap.used,
        "swap_percent": swap.percent,
    }


def _disk(psutil: Any, _interval: float, _top: int) -> list[dict[str, Any]]:
    disks = []
    seen: set[str] = set()
    for partition in psutil.disk_partitions(all=False):
        if partition.mountpoint in seen:
            continue
        seen.add(partition.mountpoint)
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:  # a mount this process may not look at
            continue
        disks.append(
            {
                "mountpoint": partition.mountpoint,
                "device": partition.device,
                "fstype": partition.fstype,
                "total": usage.total,
                "used": usage.used,
                "free": usage.free,
                "percent": usage.percent,
            }
        )
    return disks


def _system(psutil: Any, _interval: float, _top: int) -> dict[str, Any]:
    import platform

    boot = psutil.boot_time()
    return {
        "hostname": platform.node(),
        "os": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "boot_time": boot,
        "uptime_seconds": round(time.time() - boot),
        "process_count": len(psutil.pids()),
    }


def _processes(psutil: Any, _interval: float, top: int) -> list[dict[str, Any]]:
    rows = []
    for process in psutil.process_iter(["pid", "name", "username", "memory_info", "status"]):
        info = process.info
        memory = info.get("memory_info")
        rows.append(
            {
                "pid": info["pid"],
                "name": info.get("name") or "",
                "user": info.get("username"),
                "status": info.get("status"),
                "rss": memory.rss if memory is not None else 0,
            }
        )
    rows.sort(key=lambda row: row["rss"], reverse=True)
    return rows[:top]


def _summary(result: dict[str, Any]) -> str:
    lines = []
    if "cpu" in result:
        cpu = result["cpu"]
        lines.append(f"cpu: {cpu['percent']}% of {cpu['logical_cores']} cores")
    if "memory" in result:
        memory = result["memory"]
        lines.append(f"memory: {memory['percent']}% of {memory['total'] // 2**20} MiB used")
    for disk in result.get("disk", ()):
        lines.append(
            f"disk {disk['mountpoint']}: {disk['percent']}% of {disk['total'] // 2**30} GiB"
        )
    if "system" in result:
        system = result["system"]
        lines.append(f"system: {system['os']} {system['release']}, up {system['uptime_seconds']} s")
    for row in result.get("processes", ()):
        lines.append(f"{row['pid']}\t{row['rss'] // 2**20} MiB\t{row['name']}")
    return "\n".join(lines)


_READERS = {
    "cpu": _cpu,
    "memory": _memory,
    "disk": _disk,
    "system": _system,
    "processes": _processes,
}
