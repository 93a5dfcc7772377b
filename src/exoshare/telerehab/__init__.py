"""Tele-rehabilitation: live remote sessions, safety alerts and remote setting changes."""
