package signing

import (
	"context"
	"testing"
)

// BenchmarkSignTrustMarkLocal signs a trust mark's claims with a Local key.
// The goal is at least 10,000 signatures per second per core.
func BenchmarkSignTrustMarkLocal(b *testing.B) {
	l, _ := newTestLocal(b)
	ctx := context.Background()
	claims := trustMarkClaims(1_767_225_600)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Sign(ctx, "trust-mark+jwt", claims); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkVerifyTrustMark verifies a trust mark signed by a Local key.
func BenchmarkVerifyTrustMark(b *testing.B) {
	l, key := newTestLocal(b)
	token, err := l.Sign(context.Background(), "trust-mark+jwt", trustMarkClaims(1_767_225_600))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Verify(token, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}
