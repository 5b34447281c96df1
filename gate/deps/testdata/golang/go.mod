module example.com/api

go 1.21

require golang.org/x/net v0.12.0
