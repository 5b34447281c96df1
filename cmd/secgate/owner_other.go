//go:build !linux

package main

import "io"

// becomeWorkspaceOwner concerns Linux containers only (see owner_linux.go).
func becomeWorkspaceOwner(func(string) string, io.Writer) error { return nil }
