"""The simulated sensor: a practitioner's session rendered to ADC counts, and a
device model that sends them in exactly the bytes the firmware sends."""
