// Package motoserver runs moto, the local DynamoDB and DynamoDB Streams of
// the local stack and the tests: a pinned moto, patched by the launcher
// script moto_server.py so it holds a day of work, served single-threaded.
package motoserver

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed moto_server.py
var motoServerScript []byte

// Version is the moto release whose behaviour moto_server.py patches;
// the launcher refuses to serve with any other.
const Version = "5.2.1"

// Requirement is the pip requirement installed when moto is missing or
// another version; the Makefile's deps target installs the same.
const Requirement = "moto[server]==" + Version

// Server is a running moto server.
type Server struct {
	// Endpoint is the server's URL.
	Endpoint string
	cmd      *exec.Cmd
	done     chan error
	dir      string
}

// Ensure installs moto with pip when python3 cannot import Version.
func Ensure(ctx context.Context, log io.Writer) error {
	check := fmt.Sprintf("import sys, moto.server, werkzeug; sys.exit(moto.__version__ != %q)", Version)
	if exec.CommandContext(ctx, "python3", "-c", check).Run() == nil {
		return nil
	}
	fmt.Fprintf(log, "installing %s with pip\n", Requirement)
	var err error
	// A Debian python3 refuses packages outside a virtualenv (PEP 668)
	// unless told that is wanted.
	for _, extra := range [][]string{nil, {"--break-system-packages"}} {
		install := exec.CommandContext(ctx, "python3", append([]string{"-m", "pip", "install", "--quiet", Requirement}, extra...)...)
		install.Stdout, install.Stderr = log, log
		if err = install.Run(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("pip install %s: %w", Requirement, err)
}

// Start starts a single-threaded moto server on host:port (port 0 picks
// a free port) and waits until it listens.
func Start(ctx context.Context, host string, port int, log io.Writer) (*Server, error) {
	if err := Ensure(ctx, log); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "moto-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "moto_server.py")
	if err := os.WriteFile(script, motoServerScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command("python3", script, host, strconv.Itoa(port))
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Its own process group, so a terminal's Ctrl-C reaches only us and we
	// stop moto ourselves; and it dies with us if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start moto: %w", err)
	}
	m := &Server{cmd: cmd, done: make(chan error, 1), dir: dir}
	listening := make(chan int, 1)
	go func() {
		// The first line names the port; the rest is moto's own output.
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var p int
			if _, err := fmt.Sscanf(lines.Text(), "listening %d", &p); err == nil {
				listening <- p
				continue
			}
			fmt.Fprintln(log, lines.Text())
		}
		m.done <- cmd.Wait()
	}()
	select {
	case p := <-listening:
		m.Endpoint = fmt.Sprintf("http://%s", net.JoinHostPort(host, strconv.Itoa(p)))
		return m, nil
	case err := <-m.done:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("moto exited before serving (is %s:%d free?): %v", host, port, err)
	case <-ctx.Done():
		m.Stop()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		m.Stop()
		return nil, errors.New("moto did not start within 60s")
	}
}

// Stop terminates the server and waits for it.
func (m *Server) Stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
	os.RemoveAll(m.dir)
}

// RSS returns the server's resident set size in bytes, as Linux reports it
// in /proc (`make soak` watches it).
func (m *Server) RSS() (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
