"""What each LSL stream is called and what its header says (XDF meta-data conventions).

LabRecorder lists streams by name and host, reconnects a lost one by its
``source_id``, and writes the ``desc`` XML into the XDF header, where pyxdf
and MNE-LSL read channel labels, units and types from
``desc/channels/channel``. The source id is the board's own id, so a sensor
unplugged and plugged back (or moved to another port) is the same stream.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd import __version__
from twitchd.events import Event
from twitchd.signal.calibration import ChannelMap

DATA_TYPE = "EMG"
MARKER_TYPE = "Markers"
MANUFACTURER = "twitchd"


@dataclass(frozen=True, slots=True)
class Channel:
    label: str
    unit: str
    type: str
    detail: str


def channels(cmap: ChannelMap) -> tuple[Channel, ...]:
    """The data stream's channels, in the order of the EDF+ export; absent sensors are left out."""
    out = [Channel("EMG raw", "volts", "EMG", "MyoWare 2.0 RAW output (EMG x 200, centred on Vs/2)")]
    if cmap.force is not None:
        out.append(Channel("Force", "newtons", "Force", "FSR under the practitioner's thumb"))
    if cmap.env is not None:
        out.append(Channel("EMG envelope", "volts", "Misc", "MyoWare 2.0 ENV output (rectified, 3.6 Hz low-pass)"))
    return tuple(out)


def values(cmap: ChannelMap, counts: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """ADC counts as the stream's float32 samples, one column per ``channels(cmap)`` entry."""
    cols = [cmap.emg_volts(counts)]
    if cmap.force is not None:
        cols.append(cmap.force_newtons(counts))
    if cmap.env is not None:
        cols.append(cmap.env_volts(counts))
    return np.ascontiguousarray(np.column_stack(cols), dtype=np.float32)


def data_name(device_id: str) -> str:
    return f"twitchd {device_id}"


def marker_name(device_id: str) -> str:
    return f"twitchd {device_id} events"


def marker_source_id(device_id: str) -> str:
    return f"{device_id}/events"


@dataclass(frozen=True, slots=True)
class DeviceMeta:
    """What the header tells about the sensor (from its HELLO and the pipeline)."""

    device: str          # the daemon's name for it (sim-1, ser-2, ...): the dashboard's label
    device_id: str
    rate_hz: int
    board: str
    firmware: str
    source: str
    force_calibration: str


def _acquisition(desc: Any, meta: DeviceMeta) -> None:
    acq = desc.append_child("acquisition")
    acq.append_child_value("manufacturer", MANUFACTURER)
    acq.append_child_value("model", meta.board)
    acq.append_child_value("serial_number", meta.device_id)
    acq.append_child_value("firmware", meta.firmware)
    acq.append_child_value("software", f"twitchd {__version__}")
    acq.append_child_value("device", meta.device)
    acq.append_child_value("source", meta.source)
    sync = desc.append_child("synchronization")
    # The samples carry the board's clock mapped onto local_clock (docs/lsl.md):
    # no dejittering of arrival times is wanted downstream.
    sync.append_child_value("time_source", "device clock (us) mapped to local_clock by a lower-envelope fit")
    sync.append_child_value("can_drop_samples", "true")


def data_info(pylsl: Any, meta: DeviceMeta, cmap: ChannelMap) -> Any:
    chans = channels(cmap)
    info = pylsl.StreamInfo(data_name(meta.device_id), DATA_TYPE, len(chans), float(meta.rate_hz),
                            pylsl.cf_float32, meta.device_id)
    desc = info.desc()
    node = desc.append_child("channels")
    for ch in chans:
        c = node.append_child("channel")
        c.append_child_value("label", ch.label)
        c.append_child_value("unit", ch.unit)
        c.append_child_value("type", ch.type)
        c.append_child_value("description", ch.detail)
    _acquisition(desc, meta)
    desc.append_child_value("force_calibration", meta.force_calibration)
    return info


def marker_info(pylsl: Any, meta: DeviceMeta) -> Any:
    info = pylsl.StreamInfo(marker_name(meta.device_id), MARKER_TYPE, 1, pylsl.IRREGULAR_RATE,
                            pylsl.cf_string, marker_source_id(meta.device_id))
    desc = info.desc()
    ch = desc.append_child("channels").append_child("channel")
    ch.append_child_value("label", "event")
    ch.append_child_value("type", "Marker")
    ch.append_child_value("format", "JSON object: kind, onset_s, end_s, ... (docs/lsl.md)")
    _acquisition(desc, meta)
    return info


def marker_json(event: Event, device_id: str, onset_lsl: float, end_lsl: float) -> str:
    """One event as the marker's string: the event's own JSON plus the board id and its end in LSL time.

    The marker's LSL timestamp is the onset; ``end_lsl`` lets a consumer cut
    the burst out of the data stream without knowing the device clock.
    """
    body = event.to_json()
    body["device_id"] = device_id
    body["end_lsl"] = round(end_lsl, 6) if math.isfinite(end_lsl) else None
    body["onset_lsl"] = round(onset_lsl, 6)
    return json.dumps(body, separators=(",", ":"))


def mark_json(body: dict[str, Any], device_id: str, onset_lsl: float) -> str:
    """A practitioner's mark as the marker's string: ``kind: "mark"``, its own kind under ``mark`` (docs/lsl.md)."""
    out = dict(body)
    out["device_id"] = device_id
    out["onset_lsl"] = round(onset_lsl, 6)
    return json.dumps(out, separators=(",", ":"))
