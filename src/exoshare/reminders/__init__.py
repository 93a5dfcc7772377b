"""Reminders to patients (appointments, home programme) by e-mail or SMS, sent exactly once."""
