"""vibe_panel: the Panel dashboard over the API's snapshots. Arrives with the live service."""
