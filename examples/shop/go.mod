module github.com/miniappkit/miniappkit/examples/shop

go 1.26.0

replace (
	github.com/miniappkit/miniappkit => ../..
	github.com/miniappkit/miniappkit/store/postgres => ../../store/postgres
	github.com/miniappkit/miniappkit/store/redis => ../../store/redis
	github.com/miniappkit/miniappkit/store/sqlite => ../../store/sqlite
)

require (
	github.com/miniappkit/miniappkit v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	golang.org/x/time v0.15.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
