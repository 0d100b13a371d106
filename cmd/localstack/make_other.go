//go:build !linux

package main

import "context"

// underMake reports whether make started this process (`make run`).
func underMake(getenv func(string) string) bool { return getenv("MAKELEVEL") != "" }

// takeTerminal is Linux-only; elsewhere Ctrl-C reaches make too.
func takeTerminal() (restore func()) { return func() {} }

// watchMake is Linux-only (it reads /proc).
func watchMake(context.Context, func()) {}
