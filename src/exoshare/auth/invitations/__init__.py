"""Invitations: a role on an org unit offered to an e-mail address, accepted with a mailed token."""
