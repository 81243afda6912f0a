"""The cached analysis of a split: table, neighbours, mislabel signals, calibration, cross-validation,
the Ray engine and compare."""
