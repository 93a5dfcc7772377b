"""The TOTP second factor: enrolment, codes used once, recovery codes."""
