package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// underMake reports whether make started this process (`make run`).
func underMake(getenv func(string) string) bool { return getenv("MAKELEVEL") != "" }

// takeTerminal makes this process the terminal's foreground process group
// when make runs it from a terminal, so that Ctrl-C reaches the stack
// alone: the stack stops cleanly and exits 0, and make (which no longer
// sees the SIGINT) exits 0 too. It returns what gives the terminal back.
func takeTerminal() (restore func()) {
	noop := func() {}
	fd := int(os.Stdin.Fd())
	foreground, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || foreground != unix.Getpgrp() {
		return noop // no terminal, or not in its foreground
	}
	signal.Ignore(syscall.SIGTTOU) // a background group may then take the terminal
	if err := unix.Setpgid(0, 0); err != nil {
		return noop
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpid()); err != nil {
		return noop
	}
	return func() { _ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, foreground) }
}

// stopSignals are the signals make handles by stopping: it then stops
// catching them (it restores their default action) while it waits for its
// children, and forwards none but SIGTERM.
var stopSignals = []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// watchMake calls stop when make, the parent, is stopping: it stopped
// catching one of stopSignals (it got that signal and waits for its
// children) or it is gone. A SIGINT sent to make's PID alone would
// otherwise leave the stack running, make waiting for it forever.
func watchMake(ctx context.Context, stop func()) {
	parent := os.Getppid()
	caught := caughtSignals(parent)
	if caught == 0 {
		return // not readable (no /proc): nothing to watch
	}
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := caughtSignals(parent)
		for _, sig := range stopSignals {
			bit := uint64(1) << (sig - 1)
			if caught&bit != 0 && now&bit == 0 {
				stop()
				return
			}
		}
		if os.Getppid() != parent {
			stop()
			return
		}
	}
}

// caughtSignals reads the mask of signals a process catches
// (/proc/<pid>/status, SigCgt); 0 when unreadable.
func caughtSignals(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return 0
			}
			return mask
		}
	}
	return 0
}
