"""The web UI served by ``modeldeck server`` at ``/``: server-side templates, a little
JavaScript of our own (no framework, no CDN), every asset in the wheel."""
