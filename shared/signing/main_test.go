package signing

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsEndpoint is the KMS API the tests use: $KMS_ENDPOINT, or a moto server
// started by TestMain. kmsSetupErr is why there is none.
var (
	kmsEndpoint string
	kmsSetupErr error
)

func TestMain(m *testing.M) {
	var stop func()
	kmsEndpoint = os.Getenv("KMS_ENDPOINT")
	if kmsEndpoint == "" {
		kmsEndpoint, stop, kmsSetupErr = startMoto()
		if kmsSetupErr != nil {
			fmt.Fprintln(os.Stderr, "signing tests: no KMS endpoint, KMS tests will fail:", kmsSetupErr)
		}
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// lockedBuffer collects a child process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startMoto runs `python3 -m moto.server` on a free loopback port in its own
// process group and waits until it accepts connections.
func startMoto() (endpoint string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var log lockedBuffer
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &log, &log
	// Own process group, so stop can kill moto and anything it forks; and
	// moto dies with the test binary if that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return "http://" + addr, stop, nil
		}
		select {
		case err := <-done:
			return "", nil, fmt.Errorf("moto exited before serving (%v): %s", err, log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("moto did not listen within 60s: " + log.String())
		}
	}
}

// newKMSClient returns a KMS client for the test endpoint.
func newKMSClient(t testing.TB) *kms.Client {
	t.Helper()
	if kmsSetupErr != nil {
		t.Fatalf("no KMS endpoint: %v", kmsSetupErr)
	}
	return kms.New(kms.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(kmsEndpoint),
	})
}
