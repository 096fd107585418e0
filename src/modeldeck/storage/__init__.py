"""Where modeldeck keeps things: the metadata database and the content-addressed objects."""
