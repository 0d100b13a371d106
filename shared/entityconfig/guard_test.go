package entityconfig

import (
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublic: every range that is not public is refused, in IPv4, IPv6
// and IPv4-mapped IPv6; public unicast addresses are allowed.
func TestPublic(t *testing.T) {
	cases := []struct {
		addr   string
		public bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.215.14", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above CGNAT
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},
		{"2002:0808:0808::1", true}, // 6to4 of a public address
		// Unspecified, "this network".
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		// Loopback.
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		// Private.
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"::ffff:10.1.2.3", false},
		{"::ffff:192.168.0.1", false},
		// Link-local, the metadata service.
		{"169.254.169.254", false},
		{"169.254.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"febf::1", false},
		// Shared address space (CGNAT).
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		// Documentation.
		{"192.0.2.1", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"2001:db8::1", false},
		{"3fff::1", false},
		// Benchmarking, IETF assignments, 6to4 relay, reserved, broadcast.
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"192.0.0.8", false},
		{"192.88.99.1", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"2001::1", false},   // Teredo
		{"2001:2::1", false}, // benchmarking
		// Multicast.
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		// Unique local (fc00::/7), site-local, IPv4-compatible, NAT64, discard.
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		{"fec0::1", false},
		{"::127.0.0.1", false},
		{"64:ff9b::a9fe:a9fe", false},
		{"100::1", false},
		// 6to4 of a refused address.
		{"2002:7f00:0001::1", false},
		{"2002:a9fe:a9fe::1", false},
	}
	for _, c := range cases {
		addr, err := netip.ParseAddr(c.addr)
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		if got := Public(addr); got != c.public {
			t.Errorf("Public(%s) = %v, want %v", c.addr, got, c.public)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("the zero address is public")
	}
}

// TestGuardControl: the dialer's control refuses what is not public,
// unless a test allowance covers it, and anything but TCP.
func TestGuardControl(t *testing.T) {
	strict := guard{}
	for _, address := range []string{"127.0.0.1:443", "[::1]:443", "169.254.169.254:80", "[::ffff:127.0.0.1]:443", "[fd00::1]:443"} {
		if err := strict.control("tcp4", address, nil); err == nil {
			t.Errorf("strict guard let %s through", address)
		}
	}
	if err := strict.control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("strict guard refused a public address: %v", err)
	}
	if err := strict.control("udp4", "8.8.8.8:443", nil); err == nil {
		t.Error("strict guard let UDP through")
	}
	loose := guard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if err := loose.control("tcp4", "127.0.0.1:8443", nil); err != nil {
		t.Errorf("the allowance did not cover 127.0.0.1: %v", err)
	}
	if err := loose.control("tcp6", "[::ffff:127.0.0.1]:8443", nil); err != nil {
		t.Errorf("the allowance did not cover the mapped 127.0.0.1: %v", err)
	}
	if err := loose.control("tcp4", "127.0.0.2:8443", nil); err == nil {
		t.Error("the allowance covered 127.0.0.2")
	}
}

// TestOnlyTestsLoosenTheGuard: no code but tests and entityconfigtest sets
// the test allowance.
func TestOnlyTestsLoosenTheGuard(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.Contains(filepath.ToSlash(path), "shared/entityconfig/") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "InsecureAllow") {
			t.Errorf("%s sets the guard's test allowance", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
