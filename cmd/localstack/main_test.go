package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inmor/inmor-serverless/shared/dynamotest"
	"github.com/inmor/inmor-serverless/shared/tables"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// makeRun starts `make run` (on a terminal of its own when onTerminal) on
// the test's moto with tables and keys of its own, and waits for the ready
// line. It returns the command, its input and what it printed so far.
func makeRun(t *testing.T, onTerminal bool) (*exec.Cmd, io.WriteCloser, *strings.Builder) {
	t.Helper()
	dir := t.TempDir()
	getenv := dynamotest.Getenv(t, nil)
	// As from a user's shell: not inside the make of `make test`.
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			env = append(env, kv)
		}
	}
	env = append(env, "PORT=0", "DYNAMODB_ENDPOINT="+dynamotest.Endpoint(),
		"INMOR_DEV_API_KEY=signal-test-key-0123456789abcdefghijklmnopq", "INMOR_DEV_ADMIN_PASSWORD=signal-test",
		"SIGNING_KEY_FILE="+filepath.Join(dir, "signing-key.json"), "AUDIT_LOG_KEY_FILE="+filepath.Join(dir, "log-key"),
		"ATTRIBUTION_KEY_FILE="+filepath.Join(dir, "attribution-key"), "MFA_KEY_FILE="+filepath.Join(dir, "mfa-key"), "AUDIT_CHECKPOINT_BUCKET="+getenv("AUDIT_CHECKPOINT_BUCKET"))
	for _, table := range tables.All() {
		env = append(env, table.NameVariable+"="+getenv(table.NameVariable))
	}
	cmd := exec.Command("make", "--no-print-directory", "run")
	if onTerminal {
		// script(1) runs make on a terminal of its own, whose input is ours.
		cmd = exec.Command("script", "-qec", "make --no-print-directory run", "/dev/null")
	}
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	printed := &strings.Builder{}
	ready := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(out)
		announced := false
		for scanner.Scan() {
			printed.WriteString(scanner.Text() + "\n")
			if !announced && strings.Contains(scanner.Text(), "ready: http://") {
				announced = true
				ready <- true
			}
		}
		if !announced {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("make run ended before it was ready:\n%s", printed)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("make run was not ready within 3 minutes:\n%s", printed)
	}
	return cmd, stdin, printed
}

// waitExit waits for the command and returns its exit code (-1 when a
// signal killed it).
func waitExit(t *testing.T, cmd *exec.Cmd, printed *strings.Builder) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after the signal:\n%s", printed)
	}
	time.Sleep(100 * time.Millisecond) // the reader's last lines
	if !strings.Contains(printed.String(), "stopping") {
		t.Errorf("the stack did not stop cleanly:\n%s", printed)
	}
	return cmd.ProcessState.ExitCode()
}

// TestMakeRunStopsOnSignals: SIGINT or SIGTERM sent to make's own PID (as
// scripts and service managers do) stops the stack cleanly and make ends;
// Ctrl-C on the terminal of `make run` stops it and make exits 0.
func TestMakeRunStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String()+" to make", func(t *testing.T) {
			cmd, _, printed := makeRun(t, false)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitExit(t, cmd, printed)
		})
	}
	t.Run("Ctrl-C on the terminal", func(t *testing.T) {
		// ^C typed on the terminal interrupts its foreground process group.
		cmd, stdin, printed := makeRun(t, true)
		if _, err := stdin.Write([]byte{3}); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd, printed); code != 0 {
			t.Errorf("make exited %d after Ctrl-C, want 0:\n%s", code, printed)
		}
	})
}
