"""Outcomes: recovery prediction after stroke, its synthetic cohort and its validation."""
