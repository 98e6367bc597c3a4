"""Wire protocol v1: frames, their byte encoding, and the streaming decoder.

Pure code: bytes in, frames out. It knows nothing of ports or asyncio, so the
same objects serve the serial and BLE transports, the simulator and the tests.
"""

from twitchd.protocol.decoder import DecoderStats, SequenceGap, StreamDecoder
from twitchd.protocol.frames import (
    Ack,
    AckCode,
    ChannelInfo,
    Command,
    Data,
    DataBlock,
    Frame,
    FrameType,
    Hello,
    Mark,
    Opcode,
    Pong,
    Status,
    encode_frame,
    parse_frame,
)

__all__ = [
    "Ack", "AckCode", "ChannelInfo", "Command", "Data", "DataBlock", "DecoderStats", "Frame",
    "FrameType", "Hello", "Mark", "Opcode", "Pong", "SequenceGap", "Status", "StreamDecoder",
    "encode_frame", "parse_frame",
]
