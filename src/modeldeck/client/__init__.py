"""The SDK's clients: ``LocalClient`` talks to the stores directly (a remote one comes later)."""
