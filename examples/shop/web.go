package main

import (
	"embed"
	"io/fs"
)

//go:embed web
var webFiles embed.FS

// webRoot is the page: index.html, app.js and style.css, no build step.
var webRoot, _ = fs.Sub(webFiles, "web")
