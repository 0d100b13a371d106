package entityconfig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Limits of one fetch.
const (
	// DefaultTimeout bounds a fetch: connection, redirects and body.
	DefaultTimeout = 5 * time.Second
	// MaxBodyBytes is the largest entity configuration read (64 KB).
	MaxBodyBytes = 64 << 10
	// MaxRedirects is how many redirects a fetch follows.
	MaxRedirects = 3
)

// refusedV4 are the IPv4 ranges that are not public: a fetch never
// connects to them.
var refusedV4 = prefixes(
	"0.0.0.0/8",          // "this network", the unspecified address
	"10.0.0.0/8",         // private
	"100.64.0.0/10",      // shared address space (CGNAT)
	"127.0.0.0/8",        // loopback
	"169.254.0.0/16",     // link-local, the cloud metadata service
	"172.16.0.0/12",      // private
	"192.0.0.0/24",       // IETF protocol assignments
	"192.0.2.0/24",       // documentation (TEST-NET-1)
	"192.88.99.0/24",     // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",     // private
	"198.18.0.0/15",      // benchmarking
	"198.51.100.0/24",    // documentation (TEST-NET-2)
	"203.0.113.0/24",     // documentation (TEST-NET-3)
	"224.0.0.0/4",        // multicast
	"240.0.0.0/4",        // reserved
	"255.255.255.255/32", // broadcast
)

// refusedV6 are the IPv6 ranges refused within the global unicast range
// 2000::/3 (everything outside it is refused: the unspecified address,
// loopback, IPv4-compatible and NAT64 addresses, discard-only, ULA
// fc00::/7, link-local fe80::/10, site-local, multicast ff00::/8).
var refusedV6 = prefixes(
	"2001::/23",     // IETF protocol assignments (Teredo, benchmarking, ORCHID)
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation
)

var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	sixToFour       = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Public reports whether addr is a public unicast address, one a fetch may
// connect to. An IPv4-mapped IPv6 address is judged as its IPv4 address and
// a 6to4 address (2002::/16) as the IPv4 address it embeds.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	if addr.Is4() {
		for _, p := range refusedV4 {
			if p.Contains(addr) {
				return false
			}
		}
		return true
	}
	if !globalUnicastV6.Contains(addr) {
		return false
	}
	for _, p := range refusedV6 {
		if p.Contains(addr) {
			return false
		}
	}
	if sixToFour.Contains(addr) {
		b := addr.As16()
		return Public(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return true
}

// RefusedError is a connection the guard refused: the address is not
// public.
type RefusedError struct {
	Addr netip.Addr
}

// Error implements the error interface.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("connections to %s are not allowed: not a public address", e.Addr)
}

// redirectError is a redirect the fetch does not follow.
type redirectError struct{ reason string }

func (e *redirectError) Error() string { return e.reason }

// guard decides, at connect time, which addresses a fetch may reach.
type guard struct {
	// allow holds prefixes allowed though not public (tests only).
	allow []netip.Prefix
}

func (g guard) permitted(addr netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return Public(addr)
}

// control runs for every connection the dialer makes, on the address it
// resolved and is about to connect to: what DNS answered (first, or on a
// rebinding second lookup) is judged here, not before.
func (g guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("network %s is not allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address %q: %w", address, err)
	}
	if !g.permitted(ap.Addr()) {
		return &RefusedError{Addr: ap.Addr()}
	}
	return nil
}

// httpsOnly refuses any request that is not https, the first and every
// redirect alike, before the transport sees it.
type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, &redirectError{reason: fmt.Sprintf("only https URLs are fetched, not %s", r.URL.Scheme)}
	}
	return h.next.RoundTrip(r)
}

// checkRedirect follows at most MaxRedirects redirects, to https URLs only;
// each goes through the same guarded transport.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &redirectError{reason: fmt.Sprintf("stopped after %d redirects", MaxRedirects)}
	}
	if req.URL.Scheme != "https" {
		return &redirectError{reason: "redirected to a URL that is not https"}
	}
	return nil
}

// newClient returns the guarded client: https only, public addresses only
// (checked at connect time), no proxy, at most MaxRedirects redirects,
// timeout for the whole fetch.
func newClient(g guard, roots *x509.CertPool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: g.control}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would connect for us, past the guard
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           10,
		IdleConnTimeout:        30 * time.Second,
	}
	return &http.Client{Transport: httpsOnly{transport}, Timeout: timeout, CheckRedirect: checkRedirect}
}
