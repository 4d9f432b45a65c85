module github.com/miniappkit/miniappkit/examples/gobreaker

go 1.25.0

replace github.com/miniappkit/miniappkit => ../..

require (
	github.com/miniappkit/miniappkit v0.0.0-00010101000000-000000000000
	github.com/sony/gobreaker/v2 v2.4.0
)
