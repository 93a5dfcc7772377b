"""A patient's consent decisions per purpose and which ones are in force.

Below patients, because every read of a patient record across a clinic's boundary asks it;
recording, withdrawing and showing decisions is the sharing capability's (sharing/consent.py).
"""
