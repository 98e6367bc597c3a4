"""Acquisition in worker processes: more devices than one event loop carries (issue 20).

Each worker process (``worker``) runs ordinary :class:`twitchd.pipeline.DevicePipeline`
objects for the devices it owns: read, decode, detect. What a pipeline would hand
to the hub and to the sinks goes, as messages, through one pipe per worker
(``link``) to the main process, where ``fleet`` plays them into the one hub,
recorder, LSL outlets and mark desk, and keeps the devices' state for the API.
A dead worker is started again with its devices and where each stream stood
(:class:`twitchd.pipeline.Resume`), so the samples missed are one exact gap.
"""
