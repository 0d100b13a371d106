package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDERToJOSE(t *testing.T) {
	full := strings.Repeat("ab", 32)       // 32 bytes, high bit set
	low := "7f" + strings.Repeat("cd", 31) // 32 bytes, high bit clear
	tests := []struct {
		name string
		der  string
		want string // hex of r||s; "" means an error is expected
	}{
		{
			// High bit set: DER needs a leading 0x00 (33 content bytes),
			// which must be dropped.
			name: "r and s with leading 0x00",
			der:  "30 46 02 21 00" + full + "02 21 00" + full,
			want: full + full,
		},
		{
			name: "no leading zero",
			der:  "30 44 02 20" + low + "02 20" + low,
			want: low + low,
		},
		{
			name: "short r is left-padded",
			der:  "30 25 02 01 05 02 20" + low,
			want: strings.Repeat("00", 31) + "05" + low,
		},
		{
			name: "short s is left-padded",
			der:  "30 44 02 21 00" + full + "02 1f" + strings.Repeat("02", 31),
			want: full + "00" + strings.Repeat("02", 31),
		},
		{
			name: "short r with leading 0x00 (0x80)",
			der:  "30 07 02 02 00 80 02 01 01",
			want: strings.Repeat("00", 31) + "80" + strings.Repeat("00", 31) + "01",
		},
		{
			name: "both 31 bytes",
			der:  "30 42 02 1f" + strings.Repeat("11", 31) + "02 1f" + strings.Repeat("22", 31),
			want: "00" + strings.Repeat("11", 31) + "00" + strings.Repeat("22", 31),
		},
		{name: "trailing data", der: "30 06 02 01 05 02 01 06 00"},
		{name: "negative r", der: "30 06 02 01 85 02 01 06"},
		{name: "zero s", der: "30 06 02 01 05 02 01 00"},
		{name: "non-minimal r", der: "30 07 02 02 00 05 02 01 06"},
		{name: "r too long", der: "30 46 02 21 01" + full + "02 21 00" + full},
		{name: "truncated", der: "30 06 02 01 05 02 01"},
		{name: "not a sequence", der: "31 06 02 01 05 02 01 06"},
		{name: "empty", der: ""},
		{name: "raw r||s instead of DER", der: full + full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := derToJOSE(mustHex(t, tt.der), 32)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("derToJOSE accepted %s: %x", tt.der, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("derToJOSE: %v", err)
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
		})
	}
}

// TestDERToJOSERandom converts real signatures: over many of them r or s is
// often shorter than 32 bytes or has its high bit set.
func TestDERToJOSERandom(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("message"))
	var short, highBit int
	for i := 0; i < 3000; i++ {
		der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		var parsed struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*big.Int{parsed.R, parsed.S} {
			switch {
			case v.BitLen() <= 248:
				short++
			case v.BitLen() == 256:
				highBit++
			}
		}
		sig, err := derToJOSE(der, 32)
		if err != nil {
			t.Fatalf("derToJOSE(%x): %v", der, err)
		}
		if len(sig) != 64 {
			t.Fatalf("len = %d", len(sig))
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if r.Cmp(parsed.R) != 0 || s.Cmp(parsed.S) != 0 || !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
			t.Fatalf("conversion of %x changed the signature", der)
		}
	}
	if short == 0 || highBit == 0 {
		t.Logf("short r/s seen %d times, high-bit r/s %d times", short, highBit)
	}
}
