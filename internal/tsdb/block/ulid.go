package block

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// ULID is a block identifier: 48 bits of Unix milliseconds followed by 80
// random bits, written as 26 characters of Crockford base32. Its string
// form sorts by creation time, which is why block directories use it.
type ULID [16]byte

const ulidAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulidDecode maps a character to its 5-bit value, 0xff for invalid ones.
// Lower case is accepted.
var ulidDecode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range ulidAlphabet {
		t[c] = byte(i)
		t[strings.ToLower(string(c))[0]] = byte(i)
	}
	return t
}()

// NewULID returns a ULID for time t with fresh randomness from crypto/rand.
func NewULID(t time.Time) (ULID, error) {
	var u ULID
	ms := uint64(t.UnixMilli())
	if ms >= 1<<48 {
		return u, fmt.Errorf("block: time %v does not fit a ULID", t)
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(u[:6], ts[2:])
	if _, err := rand.Read(u[6:]); err != nil {
		return u, err
	}
	return u, nil
}

// Time returns the ULID's timestamp in Unix milliseconds.
func (u ULID) Time() int64 {
	var ts [8]byte
	copy(ts[2:], u[:6])
	return int64(binary.BigEndian.Uint64(ts[:]))
}

// IsZero reports whether u is the zero ULID.
func (u ULID) IsZero() bool { return u == ULID{} }

// String returns the 26-character form.
func (u ULID) String() string {
	hi, lo := binary.BigEndian.Uint64(u[:8]), binary.BigEndian.Uint64(u[8:])
	var out [26]byte
	// 26 groups of 5 bits cover 130 bits: the 128 of the ULID and two
	// leading zeros, so the first character is at most '7'.
	for i := 25; i >= 0; i-- {
		out[i] = ulidAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ParseULID parses the 26-character form.
func ParseULID(s string) (ULID, error) {
	var u ULID
	if len(s) != 26 {
		return u, fmt.Errorf("block: invalid ULID %q: length %d", s, len(s))
	}
	if ulidDecode[s[0]] > 7 {
		return u, fmt.Errorf("block: invalid ULID %q: overflows 128 bits", s)
	}
	var hi, lo uint64
	for i := range len(s) {
		v := ulidDecode[s[i]]
		if v == 0xff {
			return u, fmt.Errorf("block: invalid ULID %q: character %q", s, s[i])
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(u[:8], hi)
	binary.BigEndian.PutUint64(u[8:], lo)
	return u, nil
}

// Compare orders ULIDs by time, then randomness.
func (u ULID) Compare(o ULID) int {
	return strings.Compare(string(u[:]), string(o[:]))
}

// MarshalText implements encoding.TextMarshaler, for meta.json.
func (u ULID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *ULID) UnmarshalText(b []byte) error {
	v, err := ParseULID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
