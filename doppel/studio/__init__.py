"""The browser studio: a local web app over one workspace (training monitor, faceset browser,
XSeg mask editor, interactive merger, manual fix). Standard-library HTTP server, plain HTML+JS."""
