module github.com/secgate/secgate

go 1.26.0

require (
	github.com/goccy/go-yaml v1.19.2
	github.com/pandatix/go-cvss v0.6.4
)

require (
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc // indirect
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2 // indirect
)
