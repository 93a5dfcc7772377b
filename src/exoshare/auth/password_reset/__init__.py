"""Password reset: a mailed single-use token lets the owner of an address set a new password."""
