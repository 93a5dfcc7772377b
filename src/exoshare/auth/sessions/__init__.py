"""A user's own browser sessions and API tokens, listed and revoked."""
