package localstack

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
	"syscall"
	"time"
)

//go:embed moto_server.py
var motoServerScript []byte

// MotoRequirement is the pip requirement installed when moto is missing.
const MotoRequirement = "moto[server]>=5.1,<6"

// Moto is a running moto server.
type Moto struct {
	// Endpoint is the server's URL.
	Endpoint string
	cmd      *exec.Cmd
	done     chan error
	dir      string
}

// EnsureMoto installs moto with pip when python3 cannot import it.
func EnsureMoto(ctx context.Context, log io.Writer) error {
	if exec.CommandContext(ctx, "python3", "-c", "import moto.server, werkzeug").Run() == nil {
		return nil
	}
	fmt.Fprintf(log, "installing %s with pip\n", MotoRequirement)
	install := exec.CommandContext(ctx, "python3", "-m", "pip", "install", "--quiet", MotoRequirement)
	install.Stdout, install.Stderr = log, log
	if err := install.Run(); err != nil {
		return fmt.Errorf("pip install %s: %w", MotoRequirement, err)
	}
	return nil
}

// StartMoto starts a single-threaded moto server on host:port (port 0 picks
// a free port) and waits until it listens.
func StartMoto(ctx context.Context, host string, port int, log io.Writer) (*Moto, error) {
	if err := EnsureMoto(ctx, log); err != nil {
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
	m := &Moto{cmd: cmd, done: make(chan error, 1), dir: dir}
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
func (m *Moto) Stop() {
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
