"""Signal processing: calibration to physical units, filters, and the detector."""
